"""The optional API token: when the API_TOKEN setting is set, every write
under ``/api`` needs ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, current_app, request

from api.errors import error_response

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SCHEME = "Bearer "


def token_matches(header: str | None, token: str) -> bool:
    """Whether ``header`` carries ``token``, compared in constant time."""
    if not header or not header.startswith(SCHEME):
        return False

    given = header[len(SCHEME) :].strip()
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )


def _require_token() -> Response | None:
    """Answer 401 to a write under ``/api`` without the configured token."""
    token = current_app.extensions["batch_dashboard"].settings.api_token
    if not token or request.method in SAFE_METHODS:
        return None

    if not (request.path == "/api" or request.path.startswith("/api/")):
        return None

    # Unknown routes and methods keep their 404 and 405.
    if request.url_rule is None:
        return None

    if token_matches(request.headers.get("Authorization"), token):
        return None

    # The header's value is never logged: it may be a near-miss of the token.
    logger.warning(
        "refused %s %s: missing or wrong token", request.method, request.path
    )
    return error_response(
        401,
        "unauthorized",
        "this endpoint needs 'Authorization: Bearer <token>' with the server's "
        "API token",
        "Authorization",
        headers={"WWW-Authenticate": 'Bearer realm="batch-dashboard"'},
    )


def init_app(app: Flask) -> None:
    app.before_request(_require_token)
