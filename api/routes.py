"""Routes of ``/api``: batches (the feature-flagged v2 surface) and jokes."""

from __future__ import annotations

import json
import logging
import typing
from typing import Any, TypeVar

import pydantic
from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from api import auth, openapi
from api.errors import register_error_handlers
from api.events import bp as events_bp
from api.status_cache import StatusCache
from batch_dashboard.schemas import (
    IDEMPOTENCY_KEY,
    RESOURCE_ID,
    ListBatchesQuery,
    StatusQuery,
)
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


_NO_STORE = {"Cache-Control": "no-store"}


def _json(payload: Any, status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different; parsers disagree on which
    of two equal keys wins, so a body with both is refused."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InvalidInput(f"duplicate key '{key}' in the JSON body", key)
        obj[key] = value
    return obj


def _body() -> Any:
    """The request's JSON body; 415 when it is not JSON, 400 when malformed or
    when an object repeats a key."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "the body must be JSON with Content-Type: application/json",
            "Content-Type",
        )

    raw = request.get_data(cache=True)
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise InvalidInput("the JSON body is nested too deeply", "body") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", "body") from None


Query = TypeVar("Query", bound=pydantic.BaseModel)


def _query(model: type[Query]) -> Query:
    """The query string validated by ``model``; an empty value counts as absent."""
    raw: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        values = [value for value in request.args.getlist(name) if value != ""]
        if not values:
            continue
        if typing.get_origin(field.annotation) is list:
            raw[name] = [part for value in values for part in value.split(",") if part]
        else:
            raw[name] = values[0]

    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        name = str(first["loc"][0])
        raise InvalidInput(f"'{name}': {first['msg']}", name) from None


def _resource_id(value: str, field: str) -> str:
    """A path id as the document describes it; 400 otherwise."""
    try:
        return RESOURCE_ID.validate_python(value)
    except pydantic.ValidationError:
        raise InvalidInput(
            f"'{field}' must be 1 to 64 letters, digits, '_' or '-'", field
        ) from None


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None

    # The draft writes the key as a structured-field string: "...".
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    try:
        return IDEMPOTENCY_KEY.validate_python(key)
    except pydantic.ValidationError:
        raise InvalidInput(
            "'Idempotency-Key' must be 1 to 255 printable ASCII characters",
            "Idempotency-Key",
        ) from None


def _is_api_rule(rule: str) -> bool:
    return rule == "/api" or rule.startswith("/api/")


def _api_methods() -> list[str]:
    """The methods some ``/api`` route takes at this request's path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        try:
            rule, _ = adapter.match(method=method, return_rule=True)
        except HTTPException:
            continue
        if _is_api_rule(rule.rule):
            allowed.append(method)

    return allowed


@bp.before_app_request
def _api_routes_only() -> None:
    """Keep ``/api`` paths away from the dashboard's catch-all page route.

    A path no API route has is a 404; a path one has, asked with another
    method, is a 405 naming the methods the API takes there.
    """
    if not (request.path == "/api" or request.path.startswith("/api/")):
        return

    rule = request.url_rule
    if rule is not None and _is_api_rule(rule.rule):
        return
    if rule is None and not isinstance(request.routing_exception, MethodNotAllowed):
        return

    allowed = _api_methods()
    if not allowed:
        raise NotFound()
    raise MethodNotAllowed(valid_methods=allowed)


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
    key = _idempotency_key()
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
    """Batches, filtered, sorted and paged by cursor: 200, 400, or 404 when off."""
    service = _service()
    service.require_enabled()
    return _json(service.list_query(_query(ListBatchesQuery)))


@bp.get("/jokes/batches/<batch_id>/status")
def batch_status(batch_id: str) -> Response:
    """A batch's status: 200, 400 for a bad id or createdAfter, 404 unknown or off."""
    service = _service()
    service.require_enabled()
    batch_id = _resource_id(batch_id, "batchId")
    created_after = _query(StatusQuery).createdAfter if request.args else 0
    if created_after:
        return _json(service.status(batch_id, created_after))

    # The hot path: most polls find the batch as it was at the last poll.
    cache: StatusCache = current_app.extensions["batch_dashboard_status_cache"]
    body = cache.get(batch_id, service.status_version(batch_id))
    if body is not None:
        return Response(body, mimetype="application/json", headers=_NO_STORE)

    status = service.status(batch_id)
    response = _json(status)
    cache.put(batch_id, status["version"], response.get_data())
    return response


@bp.post("/jokes/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response:
    """Cancel a batch: 200 with its status, 404 unknown, 409 when already over."""
    service = _service()
    service.require_enabled()
    batch, _ = service.cancel(_resource_id(batch_id, "batchId"))
    return _json(status_view(batch))


@bp.get("/jokes/<joke_id>")
def get_joke(joke_id: str) -> Response:
    """One joke with its text, time, batch and prompt: 200, 400 or 404."""
    return _json(_service().joke(_resource_id(joke_id, "jokeId")))


def init_app(app: Flask) -> None:
    """Mount the blueprints, the token check and the JSON error handlers."""
    app.extensions["batch_dashboard_status_cache"] = StatusCache()
    app.register_blueprint(bp)
    app.register_blueprint(events_bp, url_prefix="/api")
    openapi.init_app(app)
    auth.init_app(app)
    register_error_handlers(app)
