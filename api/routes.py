"""Routes of ``/api``: batches (the feature-flagged v2 surface) and jokes."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import MethodNotAllowed, NotFound

from api.errors import register_error_handlers
from batch_dashboard.service import (
    BatchService,
    InvalidInput,
    ServiceError,
    status_view,
)

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


def _service() -> BatchService:
    return current_app.extensions["batch_dashboard"].service


def _json(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _body() -> Any:
    """The request's JSON body; 415 when it is not JSON, 400 when malformed."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "the body must be JSON with Content-Type: application/json",
            "Content-Type",
        )

    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except RecursionError:
        raise InvalidInput("the JSON body is nested too deeply", "body") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", "body") from None


def _int_arg(name: str, default: int, minimum: int = 0) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default

    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"'{name}' must be a whole number", name)

    value = int(raw)
    if value < minimum:
        raise InvalidInput(f"'{name}' must be at least {minimum}", name)

    return value


@bp.before_app_request
def _api_routes_only() -> None:
    """Keep ``/api`` paths away from the dashboard's catch-all page route."""
    if not (request.path == "/api" or request.path.startswith("/api/")):
        return

    rule = request.url_rule
    if rule is not None:
        if not (rule.endpoint or "").startswith("api."):
            raise NotFound()
        return

    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        allowed = []
        for method in exc.valid_methods or ():
            endpoint, _ = adapter.match(method=method)
            if str(endpoint).startswith("api."):
                allowed.append(method)
        if not allowed:
            raise NotFound()
        exc.valid_methods = allowed


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = current_app.extensions[
        "batch_dashboard"
    ].settings.max_body_bytes


@bp.post("/jokes/batches")
def create_batch() -> Response:
    """Create a batch: 202 with its id, 400, 413, 415, 422, 429 or 404 when off."""
    service = _service()
    service.require_enabled()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 255 and key.isprintable()):
        raise InvalidInput(
            "'Idempotency-Key' must be 1 to 255 printable characters",
            "Idempotency-Key",
        )

    created = service.create(_body(), idempotency_key=key)
    batch = created.batch
    response = _json({"batchId": batch["id"], "status": batch["status"]}, 202)
    response.headers["Location"] = url_for(
        "api.batch_status", batch_id=batch["id"], _external=False
    )
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"

    return response


@bp.get("/jokes/batches")
def list_batches() -> Response:
    """Batches, newest first, by cursor: 200, 400, or 404 when off."""
    statuses = [
        part
        for value in request.args.getlist("status")
        for part in value.split(",")
        if part
    ]
    page = _service().list(
        statuses=statuses,
        created_from=request.args.get("createdFrom"),
        created_to=request.args.get("createdTo"),
        text=request.args.get("q"),
        sort=request.args.get("sort", "newest"),
        cursor=request.args.get("cursor"),
        limit=_int_arg("limit", 20, minimum=1),
    )
    return _json(page)


@bp.get("/jokes/batches/<batch_id>/status")
def batch_status(batch_id: str) -> Response:
    """A batch's status: 200, 400 for a bad createdAfter, 404 unknown or off."""
    created_after = _int_arg("createdAfter", 0)
    return _json(_service().status(batch_id, created_after))


@bp.post("/jokes/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response:
    """Cancel a batch: 200 with its status, 404 unknown, 409 when already over."""
    batch, _ = _service().cancel(batch_id)
    return _json(status_view(batch))


@bp.get("/jokes/<joke_id>")
def get_joke(joke_id: str) -> Response:
    """One joke with its text, time, batch and prompt: 200 or 404."""
    return _json(_service().joke(joke_id))


def init_app(app: Flask) -> None:
    """Mount the blueprint and the JSON error handlers on ``app``."""
    app.register_blueprint(bp)
    register_error_handlers(app)
