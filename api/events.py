"""Server-Sent Events: each status change of one batch, or of every batch.

Each ``status`` event has the status endpoint's shape; like a poll with
``?createdAfter=N``, its ``createdIds`` holds only the ids created since the
stream's previous event for that batch (``createdAfter`` says from where), so
a stream of a large batch does not resend every id.

A stream holds one server thread for its whole life, so streams are bounded in
number (``SSE_MAX_STREAMS``, then 503 with ``Retry-After``: clients poll) and
in time (``SSE_MAX_SECONDS``, then the client reconnects). A client that went
away frees its slot at the stream's next write, a heartbeat at the latest.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, stream_with_context

from api.errors import error_response
from batch_dashboard.service import status_view
from db.states import BatchStatus

logger = logging.getLogger(__name__)

bp = Blueprint("events", __name__)

RETRY_MS = 3000
FULL_RETRY_AFTER = 10


def _event(name: str, payload: dict[str, Any], event_id: int | None = None) -> str:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(payload, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _stream(body: Callable[[], Iterator[str]]) -> Response:
    """Answer with ``body`` as an event stream, or 503 when every slot is taken."""
    runtime = current_app.extensions["batch_dashboard"]
    runtime.service.require_enabled()
    feed = runtime.feed
    if not feed.open_stream(runtime.settings.sse_max_streams):
        logger.info(
            "event stream refused: all %d slots taken",
            runtime.settings.sse_max_streams,
        )
        return error_response(
            503,
            "unavailable",
            "every event stream slot is taken; poll the status endpoint instead",
            headers={"Retry-After": str(FULL_RETRY_AFTER)},
        )

    released = threading.Event()

    def release() -> None:
        # Called when the body ends and again when the server closes the
        # response, which is the only call if the body never started.
        if not released.is_set():
            released.set()
            feed.close_stream()

    def guarded() -> Iterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            yield from body()
        finally:
            release()

    response = Response(stream_with_context(guarded()), mimetype="text/event-stream")
    response.call_on_close(release)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _ticks() -> Iterator[Any]:
    """Wait on the feed until the stream's time is up; yield each wake-up."""
    runtime = current_app.extensions["batch_dashboard"]
    settings = runtime.settings
    deadline = time.monotonic() + settings.sse_max_seconds
    seq = runtime.feed.seq
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return

        changes = runtime.feed.wait(seq, min(settings.sse_heartbeat_seconds, left))
        seq = changes.seq
        yield changes


@bp.get("/jokes/batches/<batch_id>/events")
def batch_events(batch_id: str) -> Response:
    """One batch's status changes: 200 stream, 404 unknown or off, 503 when full."""
    service = current_app.extensions["batch_dashboard"].service
    service.require_enabled()
    first = service.status(batch_id)

    def body() -> Iterator[str]:
        sent, count = first["version"], first["createdCount"]
        yield _event("status", first, sent)
        if BatchStatus(first["status"]).terminal:
            yield _event("end", {"batchId": batch_id, "status": first["status"]})
            return

        for changes in _ticks():
            quiet = changes.ids == frozenset()
            # A quiet wake-up re-reads too: a change made outside the executor
            # (a cancel) has no notification.
            if quiet or changes.ids is None or batch_id in changes.ids:
                status = service.status(batch_id, created_after=count)
                if status["version"] != sent:
                    sent, count = status["version"], status["createdCount"]
                    yield _event("status", status, sent)
                    if BatchStatus(status["status"]).terminal:
                        yield _event(
                            "end", {"batchId": batch_id, "status": status["status"]}
                        )
                        return
                elif quiet:
                    yield ": heartbeat\n\n"

    return _stream(body)


@bp.get("/jokes/batches/events")
def all_events() -> Response:
    """Status changes of every batch: 200 stream, 404 when off, 503 when full.

    It has no end event: it runs until its time limit or the client leaves.
    """
    service = current_app.extensions["batch_dashboard"].service

    def body() -> Iterator[str]:
        # Per batch: the version and the id count this stream last sent.
        sent: dict[str, tuple[int, int]] = {}
        for changes in _ticks():
            if changes.ids is None:
                yield _event("resync", {})
                continue

            if not changes.ids:
                yield ": heartbeat\n\n"
                continue

            for row in service.batches.get_many(sorted(changes.ids)):
                version, count = sent.get(row["id"], (0, 0))
                if version == row["version"]:
                    continue
                status = status_view(row, created_after=count)
                sent[row["id"]] = (row["version"], status["createdCount"])
                yield _event("status", status, row["version"])

    return _stream(body)
