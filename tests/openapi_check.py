"""A Flask test client that checks every ``/api`` response against the served
OpenAPI document: status documented, media type documented, headers and body
valid."""

from __future__ import annotations

import re
import weakref
from typing import Any

import jsonschema_rs
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_DOCUMENTS: weakref.WeakKeyDictionary[Flask, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


def served_document(app: Flask) -> dict[str, Any]:
    """The app's document as ``GET /api/openapi.json`` serves it."""
    if app not in _DOCUMENTS:
        response = app.test_client().get("/api/openapi.json")
        assert response.status_code == 200
        _DOCUMENTS[app] = response.get_json()

    return _DOCUMENTS[app]


def _operation(
    document: dict[str, Any], method: str, path: str
) -> dict[str, Any] | None:
    """The documented operation whose path template matches ``path``."""
    item = document["paths"].get(path)
    if item is not None:
        return item.get(method.lower())

    for template, item in document["paths"].items():
        pattern = re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return item[method.lower()]

    return None


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A validator of ``schema`` whose ``#/components/...`` refs resolve."""
    return jsonschema_rs.validator_for(
        {**schema, "components": document["components"]}, validate_formats=True
    )


def _check_body(
    document: dict[str, Any], schema: dict[str, Any], response: TestResponse, where: str
) -> None:
    if response.mimetype != "application/json":
        assert response.get_data(), f"{where}: empty body"
        return

    body = response.get_json()
    errors = [error.message for error in _validator(document, schema).iter_errors(body)]
    assert not errors, f"{where}: {errors} in {body}"


def _check_header(name: str, value: str, spec: dict[str, Any]) -> None:
    schema = spec.get("schema", {})
    instance: Any = value
    if schema.get("type") == "integer":
        assert value.isdigit(), f"header {name}={value!r} is not an integer"
        instance = int(value)
    errors = [
        e.message for e in jsonschema_rs.validator_for(schema).iter_errors(instance)
    ]
    assert not errors, f"header {name}={value!r}: {errors}"


def check_response(app: Flask, method: str, path: str, response: TestResponse) -> None:
    """Fail unless ``response`` is what the document says ``method path`` answers."""
    if not (path == "/api" or path.startswith("/api/")):
        return

    # Flask answers OPTIONS itself; HEAD is GET without the body.
    if method == "OPTIONS":
        return

    document = served_document(app)
    where = f"{method} {path} -> {response.status_code}"
    operation = _operation(document, "GET" if method == "HEAD" else method, path)
    if operation is None:
        # No route (404) or no such method (405): still the one error shape.
        assert response.status_code in (404, 405), f"{where}: not in the document"
        error_shape = {"$ref": "#/components/schemas/ErrorResponse"}
        _check_body(document, error_shape, response, where)
        return

    documented = operation["responses"]
    assert str(response.status_code) in documented, (
        f"{where}: status not documented (has {sorted(documented)})"
    )
    spec = documented[str(response.status_code)]
    media_types = list(spec.get("content", {}))
    assert response.mimetype in media_types, (
        f"{where}: {response.mimetype} is not one of {media_types}"
    )
    for name, header in spec.get("headers", {}).items():
        if name in response.headers:
            _check_header(name, response.headers[name], header)

    # A stream stays open; the body of the other answers is read and checked.
    if response.mimetype == "text/event-stream" or method == "HEAD":
        return

    _check_body(document, spec["content"][response.mimetype]["schema"], response, where)


class CheckedClient(FlaskClient):
    """``app.test_client()`` whose every ``/api`` answer is checked as it comes."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        check_response(self.application, request.method, request.path, response)
        return response


def checked_client(app: Flask) -> CheckedClient:
    return CheckedClient(app, app.response_class, use_cookies=True)
