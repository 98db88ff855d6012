"""Typed shapes of the API: the handlers validate with them and the OpenAPI
document is generated from them, so the two cannot drift."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_PROMPTS = 100
MAX_PROMPT_LENGTH = 500

BatchStatusName = Literal["queued", "in_progress", "completed", "failed", "cancelled"]
Prompt = Annotated[str, StringConstraints(max_length=MAX_PROMPT_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateBatchRequest(_Strict):
    """Body of ``POST /api/jokes/batches``; unknown fields are rejected."""

    batchSize: int | None = Field(
        default=None,
        ge=1,
        description="Jokes to generate. With prompts and no batchSize, one per "
        "prompt. The upper bound is the MAX_BATCH_SIZE setting (1000 by default).",
        examples=[5],
    )
    prompts: list[Prompt] = Field(
        default_factory=list,
        max_length=MAX_PROMPTS,
        description="Topics for the jokes; item i gets prompt i modulo their number.",
        examples=[[]],
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
    field: str | None = Field(default=None, description="Request field at fault.")
    requestId: str | None = None


class ErrorResponse(_Strict):
    error: ErrorBody
