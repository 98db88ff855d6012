"""The batch service: the validation, state rules and reads that the REST API
and the dashboard share."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic

from batch_dashboard.schemas import (
    MAX_PAGE,
    RESOURCE_ID,
    CreateBatchRequest,
    ListBatchesQuery,
    SortName,
)
from batch_dashboard.settings import Settings
from db.states import BatchStatus, IllegalTransition
from db.stores import (
    BatchNotFound,
    BatchStore,
    CapacityExceeded,
    IdempotencyConflict,
    JokeStore,
)
from db.timeutil import as_utc, isoformat, parse_iso
from generator.executor import Executor

logger = logging.getLogger(__name__)

SORTS: tuple[SortName, ...] = ("newest", "oldest", "progress", "-progress")


class ServiceError(Exception):
    """A request the service refuses; ``status`` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ServiceError):
    status = 400
    code = "invalid_field"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class IdempotencyMismatch(ServiceError):
    status = 422
    code = "idempotency_key_reused"


class OverCapacity(ServiceError):
    status = 429
    code = "over_capacity"
    retry_after = 5


class Disabled(ServiceError):
    status = 404
    code = "feature_disabled"


@dataclass(frozen=True)
class Created:
    """A create's answer: the batch, and whether an earlier one was replayed."""

    batch: dict[str, Any]
    replayed: bool


def _field_of(error: Any) -> str:
    # A union adds its member's tag ("constrained-int", "none") to the path.
    parts = [
        str(part)
        for part in error["loc"]
        if not (isinstance(part, str) and ("-" in part or part == "none"))
    ]
    return ".".join(parts) or "body"


def _message_of(error: Any) -> str:
    field = _field_of(error)
    if error["type"] == "extra_forbidden":
        return f"unknown field '{field}'"
    if error["type"] == "missing":
        return f"'{field}' is required"
    if error["type"] == "string_pattern_mismatch" and field.startswith("prompts."):
        return f"'{field}' may not contain NUL characters"
    return f"'{field}': {error['msg']}"


def invalid_input(exc: pydantic.ValidationError) -> InvalidInput:
    """The first error of a failed validation, naming its field."""
    first = exc.errors(include_url=False, include_input=False)[0]
    return InvalidInput(_message_of(first), _field_of(first))


def status_view(batch: dict[str, Any], created_after: int = 0) -> dict[str, Any]:
    """The status shape of a batch row (see ``BatchStatusResponse``)."""
    ids = batch["created_ids"]
    done = batch["created_count"] + batch["duplicate_count"] + batch["failed_count"]
    return {
        "batchId": batch["id"],
        "total": batch["total"],
        "remaining": batch["total"] - done,
        "createdIds": ids[created_after:] if created_after else ids,
        "status": batch["status"],
        "startedAt": isoformat(batch["started_at"]),
        "completedAt": isoformat(batch["completed_at"]),
        "error": batch["error"],
        "duplicates": batch["duplicate_count"],
        "failed": batch["failed_count"],
        "cancelled": batch["cancelled_count"],
        "createdCount": len(ids),
        "createdAfter": created_after,
        "createdAt": isoformat(batch["created_at"]),
        "updatedAt": isoformat(batch["updated_at"]),
        "version": batch["version"],
        "prompts": batch["prompts"],
    }


def joke_view(joke: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": joke["id"],
        "text": joke["text"],
        "createdAt": isoformat(joke["created_at"]),
        "batchId": joke["batch_id"],
        "prompt": joke["prompt"],
        "provider": joke["provider"],
    }


def _done(batch: dict[str, Any]) -> int:
    return batch["created_count"] + batch["duplicate_count"] + batch["failed_count"]


def _encode_cursor(batch: dict[str, Any], sort: str) -> str:
    """A cursor names the sort and the last row's sort key, so it can resume."""
    # Microseconds, not the milliseconds of the API's times: rows created in
    # the same millisecond must still fall on one side of the cursor.
    at = as_utc(batch["created_at"])
    assert at is not None
    key: list[Any] = [at.isoformat(timespec="microseconds"), batch["id"]]
    if sort in ("progress", "-progress"):
        key = [_done(batch), batch["total"], *key]
    raw = json.dumps({"sort": sort, "after": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Bounds of what a cursor may carry: every value goes into a SQL comparison.
CURSOR_INT_MAX = 2**62
CURSOR_TIME_LENGTH = 40


def _cursor_int(value: Any, minimum: int, maximum: int) -> int:
    if type(value) is not int or not minimum <= value <= min(maximum, CURSOR_INT_MAX):
        raise ValueError("not a count of a batch")
    return value


def _cursor_time(value: Any) -> datetime:
    if not isinstance(value, str) or len(value) > CURSOR_TIME_LENGTH:
        raise ValueError("not a time")
    return parse_iso(value)


def _decode_cursor(
    cursor: str, sort: str, max_total: int = CURSOR_INT_MAX
) -> tuple[Any, ...]:
    """The sort key a cursor of ``_encode_cursor`` carries, every value checked
    for type and range: a forged cursor is a 400, never a failed query.

    Counts above ``max_total`` (the largest batch) are refused too: the query
    multiplies them by a row's counts, which must stay in the column's range.
    """
    refused = InvalidInput("'cursor' is not a cursor this API gave out", "cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, RecursionError):
        raise refused from None
    if not isinstance(data, dict) or not isinstance(data.get("after"), list):
        raise refused

    if data.get("sort") != sort:
        if data.get("sort") in SORTS:
            raise InvalidInput(
                "'cursor' belongs to another sort; pass the same 'sort' as the page "
                "it came from",
                "cursor",
            )
        raise refused

    key = data["after"]
    progress = sort in ("progress", "-progress")
    if len(key) != (4 if progress else 2):
        raise refused
    try:
        at = _cursor_time(key[-2])
        batch_id = RESOURCE_ID.validate_python(key[-1], strict=True)
        if not progress:
            return (at, batch_id)
        total = _cursor_int(key[1], 1, max_total)
        done = _cursor_int(key[0], 0, max_total)
    except (ValueError, TypeError, OverflowError):
        # pydantic's ValidationError is a ValueError too.
        raise refused from None
    if done > total:
        raise refused
    return (done, total, at, batch_id)


def request_fingerprint(size: int, prompts: Sequence[str]) -> str:
    """What an Idempotency-Key is bound to: the batch a create would make (its
    size and trimmed prompts), so equivalent bodies replay and others do not."""
    request = {"batchSize": size, "prompts": list(prompts)}
    raw = json.dumps(request, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


class BatchService:
    """Creates, cancels and reads batches for both faces of the product."""

    def __init__(
        self,
        settings: Settings,
        batches: BatchStore,
        jokes: JokeStore,
        executor: Executor,
    ):
        self.settings = settings
        self.batches = batches
        self.jokes = jokes
        self.executor = executor

    @property
    def enabled(self) -> bool:
        return bool(self.settings.feature_batches_v2)

    def require_enabled(self) -> None:
        if not self.enabled:
            raise Disabled("the v2 batch API is disabled on this server")

    # -- writes ---------------------------------------------------------------

    def parse_create(self, body: Any) -> CreateBatchRequest:
        """Validate a create request; raise ``InvalidInput`` naming the field."""
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object", "body")

        try:
            request = CreateBatchRequest.model_validate(body)
        except pydantic.ValidationError as exc:
            raise invalid_input(exc) from None

        size = request.batchSize
        if size is None:
            if not request.prompts:
                raise InvalidInput(
                    "'batchSize' is required when no prompts are given", "batchSize"
                )
            size = len(request.prompts)

        limit = self.settings.max_batch_size
        if size > limit:
            raise InvalidInput(f"'batchSize' must be at most {limit}", "batchSize")

        # A batch larger than the whole queue would be told to retry forever.
        queue = self.settings.max_queued_items
        if queue is not None and size > queue:
            raise InvalidInput(
                f"'batchSize' must be at most {queue}: the server queues at most "
                f"{queue} items (MAX_QUEUED_ITEMS)",
                "batchSize",
            )

        return request.model_copy(update={"batchSize": size})

    def create(self, body: Any, idempotency_key: str | None = None) -> Created:
        """Validate and store a batch, then hand it to the executor."""
        self.require_enabled()
        request = self.parse_create(body)
        size = request.batchSize
        assert size is not None
        prompts = [p.strip() for p in request.prompts]
        per_item: list[str | None] = [
            prompts[i % len(prompts)] if prompts else None for i in range(size)
        ]
        fingerprint = request_fingerprint(size, prompts)
        try:
            batch, new = self.batches.create(
                per_item,
                prompts,
                idempotency_key=idempotency_key,
                request_hash=fingerprint if idempotency_key else None,
                max_active_batches=self.settings.max_active_batches,
                max_queued_items=self.settings.max_queued_items,
            )
        except IdempotencyConflict as exc:
            raise IdempotencyMismatch(
                f"the Idempotency-Key was first used for batch {exc.batch_id} "
                "with a different body",
                "Idempotency-Key",
            ) from None
        except CapacityExceeded as exc:
            raise OverCapacity(f"over capacity: {exc.reason}") from None

        if new:
            self.executor.submit(batch["id"])
        return Created(batch, replayed=not new)

    def cancel(self, batch_id: str) -> tuple[dict[str, Any], bool]:
        """Cancel a batch; cancelling a cancelled batch is harmless."""
        self.require_enabled()
        try:
            return self.batches.cancel(batch_id)
        except BatchNotFound:
            raise NotFound(f"no batch '{batch_id}'", "batchId") from None
        except IllegalTransition as exc:
            raise Conflict(
                f"batch '{batch_id}' is {exc.current} and can no longer be cancelled",
                "status",
            ) from None

    # -- reads ----------------------------------------------------------------

    def get(self, batch_id: str) -> dict[str, Any]:
        try:
            return self.batches.get(batch_id)
        except BatchNotFound:
            raise NotFound(f"no batch '{batch_id}'", "batchId") from None

    def status(self, batch_id: str, created_after: int = 0) -> dict[str, Any]:
        self.require_enabled()
        return status_view(self.get(batch_id), created_after)

    def status_version(self, batch_id: str) -> int:
        """The batch's version: unchanged, so is its status."""
        self.require_enabled()
        try:
            return self.batches.version(batch_id)
        except BatchNotFound:
            raise NotFound(f"no batch '{batch_id}'", "batchId") from None

    def list(
        self,
        statuses: Sequence[str] = (),
        created_from: str | None = None,
        created_to: str | None = None,
        text: str | None = None,
        sort: str = "newest",
        cursor: str | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """A page of batches, newest first by default, with the next cursor."""
        self.require_enabled()
        known = {str(s) for s in BatchStatus}
        for status in statuses:
            if status not in known:
                raise InvalidInput(
                    f"'status' must be one of {', '.join(sorted(known))}", "status"
                )
        if sort not in SORTS:
            raise InvalidInput(f"'sort' must be one of {', '.join(SORTS)}", "sort")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"'limit' must be from 1 to {MAX_PAGE}", "limit")

        rows = self.batches.list(
            statuses=statuses,
            created_from=_parse_time(created_from, "createdFrom"),
            created_to=_parse_time(created_to, "createdTo"),
            text=text,
            sort=sort,
            after=(
                _decode_cursor(cursor, sort, self.settings.max_batch_size)
                if cursor
                else None
            ),
            limit=limit + 1,
        )
        page, more = rows[:limit], len(rows) > limit
        return {
            "batches": [status_view(row) for row in page],
            "nextCursor": _encode_cursor(page[-1], sort) if more else None,
        }

    def list_query(self, query: ListBatchesQuery) -> dict[str, Any]:
        """``list`` for a validated query of the REST API."""
        return self.list(
            statuses=query.status,
            created_from=query.createdFrom,
            created_to=query.createdTo,
            text=query.q,
            sort=query.sort,
            cursor=query.cursor,
            limit=query.limit,
        )

    def joke(self, joke_id: str) -> dict[str, Any]:
        joke = self.jokes.get(joke_id)
        if joke is None:
            raise NotFound(f"no joke '{joke_id}'", "jokeId")

        return joke_view(joke)


def _parse_time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None

    try:
        return parse_iso(value.upper())
    except (ValueError, OverflowError):
        raise InvalidInput(f"'{field}' must be an ISO 8601 time", field) from None
