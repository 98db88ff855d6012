"""Typed shapes of the API: the handlers validate with them and the OpenAPI
document is generated from them, so the two cannot drift."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

MAX_PROMPTS = 100
MAX_PROMPT_LENGTH = 500
MAX_PAGE = 100
MAX_QUERY_LENGTH = 200
MAX_CURSOR_LENGTH = 512

BatchStatusName = Literal["queued", "in_progress", "completed", "failed", "cancelled"]
SortName = Literal["newest", "oldest", "progress", "-progress"]

# NUL cannot be stored as text everywhere; every other character is kept as
# written and shown as text.
Prompt = Annotated[
    str, StringConstraints(max_length=MAX_PROMPT_LENGTH, pattern=r"^[^\x00]*$")
]
ResourceId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
# Printable ASCII, as a header value can carry it; the draft's quoted
# structured-field form ("...") is accepted too.
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[!-~]([ -~]*[!-~])?$"),
]
BearerToken = Annotated[str, StringConstraints(pattern=r"^Bearer [!-~]+$")]

RESOURCE_ID = TypeAdapter(ResourceId)
IDEMPOTENCY_KEY = TypeAdapter(IdempotencyKey)


def _no_default(schema: dict[str, Any]) -> None:
    # An absent optional field is not the same as one sent as null.
    schema.pop("default", None)


def _date_time(schema: dict[str, Any]) -> None:
    _no_default(schema)
    schema["format"] = "date-time"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _size_or_prompts(schema: dict[str, Any]) -> None:
    # Without batchSize the size is the number of prompts, so one is needed.
    schema["anyOf"] = [
        {"required": ["batchSize"]},
        {"required": ["prompts"], "properties": {"prompts": {"minItems": 1}}},
    ]


class CreateBatchRequest(_Strict):
    """Body of ``POST /api/jokes/batches``: batchSize, or at least one prompt,
    or both; unknown fields are rejected."""

    model_config = ConfigDict(json_schema_extra=_size_or_prompts)

    batchSize: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        description="Jokes to generate, a JSON integer (not a float, string or "
        "boolean). Without it, one per prompt. The upper bound is the "
        "MAX_BATCH_SIZE setting.",
        examples=[5],
    )
    prompts: list[Prompt] = Field(
        default_factory=list,
        max_length=MAX_PROMPTS,
        description="Topics for the jokes; item i gets prompt i modulo their "
        "number. Kept as written (NUL excepted) and always shown as text.",
        examples=[[]],
    )

    @field_validator("batchSize", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be a whole number, not null")
        return value


class ListBatchesQuery(BaseModel):
    """Query of ``GET /api/jokes/batches``; other parameters are ignored."""

    model_config = ConfigDict(extra="ignore")

    status: list[BatchStatusName] = Field(
        default_factory=list,
        description="Only batches in these statuses; repeat the parameter or "
        "separate by commas.",
    )
    createdFrom: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_date_time,
        description="Only batches created at or after this ISO 8601 time.",
    )
    createdTo: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_date_time,
        description="Only batches created before this ISO 8601 time.",
    )
    q: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        max_length=MAX_QUERY_LENGTH,
        description="Only batches whose id or prompts contain this text "
        "(case-insensitive).",
    )
    sort: SortName = Field(
        default="newest",
        description="newest/oldest by creation time; progress puts the least "
        "finished first, -progress the most finished (ties newest first).",
    )
    cursor: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=_no_default,
        max_length=MAX_CURSOR_LENGTH,
        description="nextCursor of the previous page, with the same sort.",
    )
    limit: int = Field(default=20, ge=1, le=MAX_PAGE, description="Page size.")


class StatusQuery(BaseModel):
    """Query of ``GET /api/jokes/batches/{batchId}/status``."""

    model_config = ConfigDict(extra="ignore")

    createdAfter: int = Field(
        default=0,
        ge=0,
        le=10**9,
        description="Return only createdIds after this many; createdCount "
        "still gives the length of the whole list.",
    )


class CreateBatchResponse(_Strict):
    batchId: str = Field(examples=["batch_12345"])
    status: BatchStatusName = Field(examples=["queued"])


class BatchStatusResponse(_Strict):
    """The seed's status shape, plus counts and times that were added."""

    batchId: str
    total: int
    remaining: int = Field(
        description="Items not created, duplicate or failed: pending, running, "
        "or dropped by a cancel."
    )
    createdIds: list[str] = Field(
        description="Ids of created jokes in creation order (only those after "
        "`createdAfter` when it is given)."
    )
    status: BatchStatusName
    startedAt: str | None
    completedAt: str | None
    error: str | None
    duplicates: int
    failed: int
    cancelled: int
    createdCount: int = Field(description="Length of the full createdIds list.")
    createdAfter: int = Field(description="Position the createdIds list starts at.")
    createdAt: str
    updatedAt: str
    version: int = Field(description="Grows with every visible change.")
    prompts: list[str]


class BatchPage(_Strict):
    batches: list[BatchStatusResponse]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page.")


class JokeResponse(_Strict):
    id: str
    text: str
    createdAt: str
    batchId: str | None
    prompt: str | None
    provider: str


class ErrorBody(_Strict):
    code: str = Field(examples=["invalid_field"])
    message: str
    field: str | None = Field(description="Request field at fault, or null.")
    requestId: str = Field(
        description="Also in the server's log; an X-Request-Id header sets it."
    )


class ErrorResponse(_Strict):
    error: ErrorBody
