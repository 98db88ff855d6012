"""The OpenAPI 3.1 document of ``/api``, built from the pydantic models the
handlers validate with, and the offline docs page that renders it."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    send_from_directory,
    url_for,
)
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from batch_dashboard import schemas
from batch_dashboard.settings import ENV_PREFIX

logger = logging.getLogger(__name__)

bp = Blueprint("api_docs", __name__, url_prefix="/api")

OPENAPI_VERSION = "3.1.0"
FLAG = "FEATURE_BATCHES_V2"
BATCHES_TAG = "batches (v2)"
REF = "#/components/schemas/{model}"

_REQUEST_MODELS: tuple[type[BaseModel], ...] = (schemas.CreateBatchRequest,)
_RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    schemas.CreateBatchResponse,
    schemas.BatchStatusResponse,
    schemas.BatchPage,
    schemas.JokeResponse,
    schemas.ErrorResponse,
)

# Why each error status is answered; every one has the same JSON shape.
_ERRORS = {
    400: "Bad input: a field, parameter, id or body that is wrong, or "
    "malformed JSON. `error.field` names it.",
    401: "The API_TOKEN setting is set and the Authorization header is missing "
    "or wrong.",
    404: "Unknown id, or the v2 batch surface is switched off "
    "(`error.code` = `feature_disabled`).",
    409: "The batch is already completed or failed and cannot be cancelled.",
    413: "The body is larger than the MAX_BODY_BYTES setting.",
    415: "The body is not `application/json`.",
    422: "The Idempotency-Key was used before with a different body.",
    429: "Over capacity (MAX_QUEUED_ITEMS or MAX_ACTIVE_BATCHES); nothing was "
    "stored. Retry after `Retry-After` seconds.",
    500: "A bug; the log has the traceback under `error.requestId`.",
    503: "The server cannot take this stream now; poll the status instead.",
}

# Files of the docs page: served under /api/docs/ but not API operations.
ASSET_ENDPOINTS = frozenset({"api_docs.docs_init", "api_docs.docs_file"})

_DOCS_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "index.css"}
)

_DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Batch Status Dashboard API</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/init.js"></script>
</body>
</html>
"""

# The Swagger UI that ships in swagger-ui-bundle reads 3.0 documents only; the
# page hands it the served 3.1 document under a 3.0 label, which it renders
# fully because the document uses no 3.1-only feature it would draw.
_DOCS_INIT = """"use strict";
fetch("{document}")
  .then(function (response) {{ return response.json(); }})
  .then(function (spec) {{
    spec.openapi = "3.0.3";
    window.ui = SwaggerUIBundle({{
      spec: spec,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis]
    }});
  }});
"""


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": _ref("ErrorResponse")}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "The scheme to authenticate with.",
                "schema": {"type": "string"},
            }
        }
    return response


def _ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


def _ok(description: str, model: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Cache-Control": {
                "description": "Always `no-store`: a status is never stale.",
                "schema": {"type": "string", "const": "no-store"},
            }
        },
        "content": {"application/json": {"schema": _ref(model)}},
    }


def _responses(ok: dict[str, Any], errors: Iterable[int]) -> dict[str, Any]:
    return {**ok, **{str(status): _error(status) for status in sorted(errors)}}


def _id_parameter(name: str, what: str, checked: bool = True) -> dict[str, Any]:
    schema = schemas.RESOURCE_ID.json_schema()
    description = f"The {what}'s id."
    if checked:
        description += " Other characters, or more than 64, answer 400."
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One query parameter per field of ``model``, with the field's schema."""
    json_schema = model.model_json_schema(ref_template=REF)
    required = set(json_schema.get("required", ()))
    parameters = []
    for name, schema in json_schema["properties"].items():
        schema = dict(schema)
        schema.pop("title", None)
        description = schema.pop("description", "")
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": description,
            "schema": schema,
        }
        if schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)

    return parameters


def _flagged(operation: dict[str, Any]) -> dict[str, Any]:
    """Mark an operation as part of the feature-flagged v2 batch surface."""
    operation["tags"] = [BATCHES_TAG]
    operation["x-feature-flag"] = {
        "setting": FLAG,
        "env": ENV_PREFIX + FLAG,
        "whenOff": 404,
    }
    return operation


def _write(operation: dict[str, Any]) -> dict[str, Any]:
    # The empty requirement makes the token optional: it is needed only when
    # the server has API_TOKEN set.
    operation["security"] = [{"bearerToken": []}, {}]
    return operation


def _operations() -> dict[str, dict[str, Any]]:
    batch_id = _id_parameter("batchId", "batch")
    idempotency_key = schemas.IDEMPOTENCY_KEY.json_schema()
    create = _flagged(
        _write(
            {
                "operationId": "createBatch",
                "summary": "Start a batch of jokes",
                "description": "Stores the batch and its items, then answers at "
                "once; poll the Location for progress. Unknown fields, and values "
                "of the wrong JSON type (`true` or `5.0` for batchSize), answer "
                "400 and store nothing.",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Retry safely: the same key with the same "
                        "body answers the first batch again (no second batch is "
                        "made); with another body it answers 422. Keys are kept "
                        "as long as their batch.",
                        "schema": idempotency_key,
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("CreateBatchRequest"),
                            "example": {"batchSize": 5, "prompts": []},
                        }
                    },
                },
                "responses": _responses(
                    {
                        "202": {
                            "description": "Accepted: the batch is stored and "
                            "queued (or replayed for a repeated Idempotency-Key).",
                            "headers": {
                                "Location": {
                                    "description": "The batch's status URL.",
                                    "schema": {"type": "string"},
                                },
                                "Idempotent-Replayed": {
                                    "description": "`true` when this answers an "
                                    "earlier request with the same key.",
                                    "schema": {"type": "string", "const": "true"},
                                },
                            },
                            "content": {
                                "application/json": {
                                    "schema": _ref("CreateBatchResponse")
                                }
                            },
                        }
                    },
                    (400, 401, 404, 413, 415, 422, 429, 500),
                ),
            }
        )
    )
    listing = _flagged(
        {
            "operationId": "listBatches",
            "summary": "List batches, filtered, sorted and paged by cursor",
            "parameters": _query_parameters(schemas.ListBatchesQuery),
            "responses": _responses(
                {"200": _ok("A page of batches.", "BatchPage")}, (400, 404, 500)
            ),
        }
    )
    status = _flagged(
        {
            "operationId": "getBatchStatus",
            "summary": "A batch's progress, in the seed's shape",
            "parameters": [batch_id, *_query_parameters(schemas.StatusQuery)],
            "responses": _responses(
                {"200": _ok("The batch's status.", "BatchStatusResponse")},
                (400, 404, 500),
            ),
        }
    )
    cancel = _flagged(
        _write(
            {
                "operationId": "cancelBatch",
                "summary": "Cancel a batch",
                "description": "Pending items are dropped, running ones finish; "
                "the batch ends `cancelled`. Cancelling a cancelled batch answers "
                "200 again and changes nothing. No body is read.",
                "parameters": [batch_id],
                "responses": _responses(
                    {"200": _ok("The cancelled batch.", "BatchStatusResponse")},
                    (400, 401, 404, 409, 500),
                ),
            }
        )
    )
    joke = {
        "operationId": "getJoke",
        "summary": "One stored joke",
        "tags": ["jokes"],
        "parameters": [_id_parameter("jokeId", "joke")],
        "responses": _responses(
            {"200": _ok("The joke.", "JokeResponse")}, (400, 404, 500)
        ),
    }
    document = {
        "operationId": "getOpenApiDocument",
        "summary": "This document",
        "tags": ["meta"],
        "responses": {
            "200": {
                "description": "The OpenAPI 3.1 document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
    docs = {
        "operationId": "getApiDocs",
        "summary": "The API reference page (works offline)",
        "tags": ["meta"],
        "responses": {
            "200": {
                "description": "An HTML page rendering this document.",
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        },
    }
    return {
        "/api/jokes/batches": {"post": create, "get": listing},
        "/api/jokes/batches/{batchId}/status": {"get": status},
        "/api/jokes/batches/{batchId}/cancel": {"post": cancel},
        "/api/jokes/{jokeId}": {"get": joke},
        "/api/openapi.json": {"get": document},
        "/api/docs": {"get": docs},
    }


def _event_operations() -> dict[str, dict[str, Any]]:
    """The Server-Sent Event streams, documented when the app serves them."""

    def stream(operation_id: str, summary: str, parameters: list[Any]) -> Any:
        return _flagged(
            {
                "operationId": operation_id,
                "summary": summary,
                "description": "A `text/event-stream`: `status` events carry "
                "the BatchStatusResponse shape, `end` closes a finished batch's "
                "stream, and comments are heartbeats. It ends after the "
                "SSE_MAX_SECONDS setting; reconnect, or fall back to polling.",
                "parameters": parameters,
                "responses": _responses(
                    {
                        "200": {
                            "description": "Server-Sent Events.",
                            "content": {
                                "text/event-stream": {"schema": {"type": "string"}}
                            },
                        }
                    },
                    (400, 404, 503),
                ),
            }
        )

    return {
        "/api/jokes/batches/{batchId}/events": {
            "get": stream(
                "streamBatchEvents",
                "Live changes of one batch",
                [_id_parameter("batchId", "batch", checked=False)],
            )
        },
        "/api/jokes/batches/events": {
            "get": stream("streamAllBatchEvents", "Live changes of every batch", [])
        },
    }


def openapi_path(rule: str) -> str:
    """``/api/x/<batch_id>`` as OpenAPI writes it: ``/api/x/{batchId}``."""
    parts = []
    for part in rule.split("/"):
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1].split(":")[-1]
            head, *rest = name.split("_")
            part = "{" + head + "".join(word.title() for word in rest) + "}"
        parts.append(part)

    return "/".join(parts)


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """Every (path, method) the app answers under ``/api``, OpenAPI-style."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule == "/api" or rule.rule.startswith("/api/")):
            continue
        if rule.endpoint in ASSET_ENDPOINTS:
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((openapi_path(rule.rule), method.lower()))

    return found


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for what ``app`` serves under ``/api``."""
    settings = app.extensions["batch_dashboard"].settings
    _, definitions = models_json_schema(
        [(model, "validation") for model in _REQUEST_MODELS]
        + [(model, "serialization") for model in _RESPONSE_MODELS],
        ref_template=REF,
    )
    components = definitions["$defs"]
    size = components["CreateBatchRequest"]["properties"]["batchSize"]
    # A batch larger than the whole queue is refused like one over the size limit.
    size["maximum"] = min(settings.max_batch_size, settings.max_queued_items)

    paths = _operations()
    served = served_operations(app)
    for path, item in _event_operations().items():
        if any(served_path == path for served_path, _ in served):
            paths[path] = item

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Batch Status Dashboard API",
            "version": "2",
            "description": "Create batches of jokes, poll their status, read "
            'jokes. Every error has the shape `{"error": {"code", '
            '"message", "field", "requestId"}}`. A method a path does '
            "not take answers 405 with an `Allow` header; an unknown path, 404. "
            f"The batch operations are the v2 surface behind {ENV_PREFIX}{FLAG}.",
        },
        "tags": [
            {
                "name": BATCHES_TAG,
                "description": "Feature-flagged: hidden (404) when "
                f"{ENV_PREFIX}{FLAG} is off.",
            },
            {"name": "jokes", "description": "Stored jokes."},
            {"name": "meta", "description": "This document and its page."},
        ],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Needed on writes only when the server has "
                    "the API_TOKEN setting.",
                }
            },
        },
    }


def document_for(app: Flask) -> dict[str, Any]:
    """The app's document, built once (routes and settings are fixed by then)."""
    cached = app.extensions.get("batch_dashboard_openapi")
    if cached is None:
        cached = build_document(app)
        app.extensions["batch_dashboard_openapi"] = cached

    return copy.deepcopy(cached)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document: 200."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(document_for(app))


@bp.get("/docs")
def docs_page() -> Response:
    """The API reference page, from files in the swagger-ui-bundle package."""
    base = url_for("api_docs.docs_page")
    return Response(_DOCS_PAGE.format(base=base), mimetype="text/html")


@bp.get("/docs/init.js")
def docs_init() -> Response:
    return Response(
        _DOCS_INIT.format(document=url_for("api_docs.openapi_document")),
        mimetype="text/javascript",
    )


@bp.get("/docs/<name>")
def docs_file(name: str) -> Response:
    from swagger_ui_bundle import swagger_ui_path

    if name not in _DOCS_FILES:
        abort(404)

    return send_from_directory(str(swagger_ui_path), name, max_age=3600)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
