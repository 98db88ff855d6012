"""Security: the optional API token, response headers, and errors that keep
the server's insides to themselves."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from api.auth import token_matches
from tests.openapi_check import CheckedClient, checked_client

BATCHES = "/api/jokes/batches"
TOKEN = "s3cret-Token-0123456789"


@pytest.fixture
def guarded(make_app: Any) -> Flask:
    return make_app({"API_TOKEN": TOKEN}, start=False)


@pytest.fixture
def api(guarded: Flask) -> CheckedClient:
    return checked_client(guarded)


def batch_count(app: Flask) -> int:
    return app.extensions["batch_dashboard"].service.batches.count()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_batch(app: Flask) -> str:
    created = app.extensions["batch_dashboard"].service.create({"batchSize": 2})
    return str(created.batch["id"])


# -- the token ----------------------------------------------------------------

WRONG = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"bearer{TOKEN}"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": "Bearer caf\u00e9"},
]


@pytest.mark.parametrize("headers", WRONG)
def test_a_create_without_the_token_is_a_401_and_stores_nothing(
    api: CheckedClient, headers: dict[str, str]
) -> None:
    response = api.post(BATCHES, json={"batchSize": 2}, headers=headers)

    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert error["field"] == "Authorization"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.get_data(as_text=True)
    assert batch_count(api.application) == 0


@pytest.mark.parametrize("headers", WRONG[:3])
def test_a_cancel_without_the_token_is_a_401_and_changes_nothing(
    api: CheckedClient, headers: dict[str, str]
) -> None:
    batch_id = new_batch(api.application)

    response = api.post(f"{BATCHES}/{batch_id}/cancel", headers=headers)

    assert response.status_code == 401
    status = api.get(f"{BATCHES}/{batch_id}/status").get_json()
    assert status["status"] == "queued"


def test_the_token_opens_every_write(api: CheckedClient) -> None:
    created = api.post(BATCHES, json={"batchSize": 2}, headers=bearer(TOKEN))
    assert created.status_code == 202
    batch_id = created.get_json()["batchId"]

    cancelled = api.post(f"{BATCHES}/{batch_id}/cancel", headers=bearer(TOKEN))

    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"


def test_reads_need_no_token(api: CheckedClient) -> None:
    batch_id = new_batch(api.application)

    assert api.get(BATCHES).status_code == 200
    assert api.get(f"{BATCHES}/{batch_id}/status").status_code == 200
    assert api.get("/api/openapi.json").status_code == 200


def test_unknown_routes_and_methods_keep_their_404_and_405(api: CheckedClient) -> None:
    assert api.post("/api/no/such/route").status_code == 404
    assert api.delete(BATCHES).status_code == 405


def test_without_the_setting_no_token_is_needed(make_app: Any) -> None:
    api = checked_client(make_app(start=False))

    assert api.post(BATCHES, json={"batchSize": 1}).status_code == 202


def test_the_token_check_takes_odd_headers_without_failing() -> None:
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert token_matches(f"Bearer  {TOKEN} ", TOKEN)
    assert not token_matches("Bearer \udcff\u00e9", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches(TOKEN, TOKEN)


def test_the_token_never_reaches_the_log(
    api: CheckedClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    near_miss = TOKEN[:-1] + "X"

    api.post(BATCHES, json={"batchSize": 1}, headers=bearer(near_miss))
    api.post(BATCHES, json={"batchSize": 1}, headers=bearer(TOKEN))
    api.post(BATCHES, json={"batchSize": 1})

    assert any("refused" in record.getMessage() for record in caplog.records)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r}" for record in caplog.records
    )
    assert TOKEN not in logged
    assert near_miss not in logged
    assert TOKEN[:8] not in logged


def test_the_document_says_writes_may_need_the_token(guarded: Flask) -> None:
    document = guarded.test_client().get("/api/openapi.json").get_json()

    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == (
        "bearer"
    )
    create = document["paths"][BATCHES]["post"]
    assert {"bearerToken": []} in create["security"]
    assert "401" in create["responses"]


# -- headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", BATCHES),
        ("get", "/api/openapi.json"),
        ("get", "/api/docs"),
        ("get", "/api/jokes/batches/batch_0000000000000000/status"),
        ("get", "/api/no/such/route"),
        ("delete", BATCHES),
        ("post", BATCHES),
        ("get", "/"),
        ("get", "/_dash-layout"),
    ],
)
def test_every_response_carries_the_security_headers(
    make_app: Any, method: str, path: str
) -> None:
    client = make_app(start=False).test_client()

    response = getattr(client, method)(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
    }
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_api_answers_are_never_cached(api: CheckedClient) -> None:
    batch_id = new_batch(api.application)

    for path in (BATCHES, f"{BATCHES}/{batch_id}/status", "/api/jokes/nope_x"):
        assert api.get(path).headers["Cache-Control"] == "no-store"


# -- what an error may say -----------------------------------------------------


def test_a_broken_store_answers_500_without_sql_or_paths(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(start=False)
    api = checked_client(app)
    with app.extensions["batch_dashboard"].engine.begin() as conn:
        conn.execute(text("DROP TABLE batch_items"))
        conn.execute(text("DROP TABLE batches"))

    response = api.get(BATCHES, headers={"X-Request-Id": "req-broken-1"})

    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error == {
        "code": "internal_error",
        "message": "the server hit an unexpected error",
        "field": None,
        "requestId": "req-broken-1",
    }
    body = response.get_data(as_text=True)
    for leak in ("SELECT", "sqlite", "no such table", "Traceback", ".py"):
        assert leak not in body
    # The log keeps what the client does not see, under the same request id.
    record = next(r for r in caplog.records if "req-broken-1" in r.getMessage())
    assert record.exc_info is not None
    assert "GET /api/jokes/batches" in record.getMessage()
