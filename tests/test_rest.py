"""The REST API through the Flask test client: the contract of the seed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import SEED_FIELDS, TERMINAL, check_invariants, wait_for

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def create(client: FlaskClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/api/jokes/batches", json=body, **kwargs)


def batch_count(client: FlaskClient) -> int:
    return client.application.extensions["batch_dashboard"].service.batches.count()


def poll_until_done(client: FlaskClient, location: str) -> dict[str, Any]:
    previous: list[dict[str, Any]] = []

    def probe() -> dict[str, Any] | None:
        status = client.get(location).get_json()
        check_invariants(status, previous[-1] if previous else None)
        previous.append(status)
        return status if status["status"] in TERMINAL else None

    return wait_for(probe)


def test_create_answers_202_with_the_id_and_a_location(client: FlaskClient) -> None:
    response = create(client, {"batchSize": 5, "prompts": []})

    assert response.status_code == 202
    body = response.get_json()
    assert set(body) == {"batchId", "status"}
    assert body["batchId"].startswith("batch_")
    assert body["status"] == "queued"
    assert response.headers["Location"] == (
        f"/api/jokes/batches/{body['batchId']}/status"
    )


def test_a_batch_runs_to_completion(client: FlaskClient) -> None:
    response = create(client, {"batchSize": 5, "prompts": ["robots"]})

    status = poll_until_done(client, response.headers["Location"])

    assert status["status"] == "completed"
    assert len(status["createdIds"]) + status["duplicates"] == 5
    assert status["remaining"] == 0
    for joke_id in status["createdIds"]:
        joke = client.get(f"/api/jokes/{joke_id}").get_json()
        assert joke["batchId"] == status["batchId"]
        assert joke["prompt"] == "robots"
        assert joke["text"]


def test_the_status_has_the_seed_shape(client: FlaskClient) -> None:
    location = create(client, {"batchSize": 2}).headers["Location"]
    status = poll_until_done(client, location)

    response = client.get(location)

    assert response.headers["Cache-Control"] == "no-store"
    assert SEED_FIELDS <= set(response.get_json())
    assert {"duplicates", "failed", "createdAt"} <= set(status)
    for field in ("startedAt", "completedAt", "createdAt"):
        assert ISO_UTC.match(status[field]), status[field]
    assert status["error"] is None
    assert isinstance(status["total"], int)


def test_a_queued_batch_has_null_times(make_app: Any) -> None:
    client = make_app(start=False).test_client()
    location = create(client, {"batchSize": 3}).headers["Location"]

    status = client.get(location).get_json()

    assert status["status"] == "queued"
    assert status["startedAt"] is None and status["completedAt"] is None
    assert status["remaining"] == 3 and status["createdIds"] == []


def test_prompts_without_a_size_make_one_item_each(client: FlaskClient) -> None:
    response = create(client, {"prompts": ["cats", "dogs", "tea"]})

    status = client.get(response.headers["Location"]).get_json()
    assert status["total"] == 3
    assert status["prompts"] == ["cats", "dogs", "tea"]


def test_the_list_is_newest_first_and_paged(client: FlaskClient) -> None:
    ids = [create(client, {"batchSize": 1}).get_json()["batchId"] for _ in range(5)]

    first = client.get("/api/jokes/batches?limit=2").get_json()
    second = client.get(
        f"/api/jokes/batches?limit=2&cursor={first['nextCursor']}"
    ).get_json()
    third = client.get(
        f"/api/jokes/batches?limit=2&cursor={second['nextCursor']}"
    ).get_json()

    seen = [b["batchId"] for page in (first, second, third) for b in page["batches"]]
    assert seen == list(reversed(ids))
    assert third["nextCursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"batchSize": 0}, "batchSize"),
        ({"batchSize": -3}, "batchSize"),
        ({"batchSize": 1001}, "batchSize"),
        ({"batchSize": "5"}, "batchSize"),
        ({"batchSize": 2.5}, "batchSize"),
        ({"batchSize": True}, "batchSize"),
        ({"batchSize": None}, "batchSize"),
        ({}, "batchSize"),
        ({"batchSize": 5, "prompts": "cats"}, "prompts"),
        ({"batchSize": 5, "prompts": [1]}, "prompts.0"),
        ({"batchSize": 5, "prompts": ["x" * 501]}, "prompts.0"),
        ({"batchSize": 5, "prompts": ["a"] * 101}, "prompts"),
        ({"batchSize": 5, "prompts": ["ok", "nul\x00"]}, "prompts.1"),
        ({"batchSize": 5, "colour": "red"}, "colour"),
        ([1, 2], "body"),
        ("a string", "body"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_stored(
    client: FlaskClient, body: Any, field: str
) -> None:
    response = create(client, body)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == field
    assert field.split(".")[0] in error["message"] or field == "body"
    assert batch_count(client) == 0


def test_malformed_json_is_a_400(client: FlaskClient) -> None:
    response = client.post(
        "/api/jokes/batches", data="{batchSize: 5", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "body"
    assert batch_count(client) == 0


def test_a_body_that_is_not_json_is_a_415(client: FlaskClient) -> None:
    response = client.post(
        "/api/jokes/batches", data="batchSize=5", content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_huge_body_is_a_413(client: FlaskClient) -> None:
    body = json.dumps({"batchSize": 5, "prompts": ["x" * 400] * 1000})

    response = client.post(
        "/api/jokes/batches", data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "body_too_large"
    assert batch_count(client) == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/jokes/batches/batch_missing/status", 404),
        ("get", "/api/jokes/joke_missing", 404),
        ("get", "/api/no/such/route", 404),
        ("delete", "/api/jokes/batches", 405),
        ("put", "/api/jokes/batches/batch_x/status", 405),
        ("get", "/api/jokes/batches/batch_x/cancel", 405),
        ("post", "/api/no/such/route", 404),
    ],
)
def test_errors_are_json_never_html(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = getattr(client, method)(path)

    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["message"] and error["code"] and error["requestId"]
    assert "<html" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("value", ["0", "false", "off", "OFF"])
def test_the_flag_off_hides_the_batch_api(make_app: Any, value: str) -> None:
    client = make_app({"FEATURE_BATCHES_V2": value}, start=False).test_client()

    assert create(client, {"batchSize": 5}).status_code == 404
    assert client.get("/api/jokes/batches").status_code == 404
    assert client.get("/api/jokes/batches/batch_x/status").status_code == 404
    assert create(client, {"batchSize": 5}).get_json()["error"]["code"] == (
        "feature_disabled"
    )
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "The batch API is disabled" in layout
    assert batch_count(client) == 0


def test_the_dashboard_page_is_served(client: FlaskClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert "Batch Status Dashboard" in response.get_data(as_text=True)
