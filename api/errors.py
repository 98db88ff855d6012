"""The one JSON error shape of every ``/api`` path, and the handlers serving it."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from batch_dashboard.service import OverCapacity, ServiceError

logger = logging.getLogger(__name__)

# Codes for the HTTP errors Flask and Werkzeug raise themselves.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "over_capacity",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build ``{"error": {"code", "message", "field", "requestId"}}``."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "field": field,
        "requestId": request_id(),
    }
    response = jsonify(error=body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value

    return response


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = request.headers.get("X-Request-Id", "")[
            :64
        ] or secrets.token_hex(8)

    return str(g.request_id)


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Response:
        headers = {}
        if isinstance(exc, OverCapacity):
            headers["Retry-After"] = str(exc.retry_after)

        return error_response(exc.status, exc.code, exc.message, exc.field, headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not _is_api():
            return exc

        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = {
            404: f"no API route at {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
            413: "the request body is too large",
        }.get(status, exc.description or code)
        response = error_response(status, code, message)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]

        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        logger.error(
            "unexpected error on %s %s (request %s)",
            request.method,
            request.path,
            request_id(),
            exc_info=exc,
        )
        return error_response(
            500, "internal_error", "the server hit an unexpected error"
        )
