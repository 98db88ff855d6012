"""Over capacity: 429 with Retry-After, and nothing half-created."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

CREATE = "/api/jokes/batches"


def _counts(database: Path) -> tuple[int, int]:
    with sqlite3.connect(database) as conn:
        (batches,) = conn.execute("SELECT count(*) FROM batches").fetchone()
        (items,) = conn.execute("SELECT count(*) FROM batch_items").fetchone()
    return batches, items


def _create(client: FlaskClient, size: int, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(CREATE, json={"batchSize": size}, headers=headers)


def _assert_over_capacity(response: Any) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field", "requestId"}
    assert error["code"] == "over_capacity"
    assert "limit" in error["message"]
    assert error["requestId"]


def test_too_many_active_batches_answer_429_and_store_nothing(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app({"MAX_ACTIVE_BATCHES": 2}, start=False)
    client = app.test_client()
    database = tmp_path / "store.sqlite3"
    assert _create(client, 3).status_code == 202
    assert _create(client, 4).status_code == 202
    before = _counts(database)

    response = _create(client, 5)

    _assert_over_capacity(response)
    assert _counts(database) == before == (2, 7)


def test_too_many_queued_items_answer_429_and_store_nothing(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app({"MAX_QUEUED_ITEMS": 10}, start=False)
    client = app.test_client()
    database = tmp_path / "store.sqlite3"
    assert _create(client, 6).status_code == 202

    _assert_over_capacity(_create(client, 5))
    assert _counts(database) == (1, 6)

    # What still fits is accepted: the limit counts items, not requests.
    assert _create(client, 4).status_code == 202
    assert _counts(database) == (2, 10)
    _assert_over_capacity(_create(client, 1))
    assert _counts(database) == (2, 10)


def test_a_refused_key_is_not_spent_and_a_replay_is_not_refused(
    make_app: Any, tmp_path: Path
) -> None:
    app = make_app({"MAX_ACTIVE_BATCHES": 1}, start=False)
    client = app.test_client()
    database = tmp_path / "store.sqlite3"
    first = _create(client, 2, key="first")
    assert first.status_code == 202

    # Replaying a create that went through returns it, even when full.
    replay = _create(client, 2, key="first")
    assert replay.status_code == 202
    assert replay.get_json()["batchId"] == first.get_json()["batchId"]

    _assert_over_capacity(_create(client, 3, key="second"))
    assert _counts(database) == (1, 2)

    # Once the first batch ends there is room, and the refused key works.
    cancel = client.post(f"{CREATE}/{first.get_json()['batchId']}/cancel")
    assert cancel.status_code == 200
    retried = _create(client, 3, key="second")
    assert retried.status_code == 202
    assert retried.headers.get("Idempotent-Replayed") is None
    assert _counts(database) == (2, 5)
