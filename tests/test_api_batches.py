"""Batch endpoints through the test client, every answer checked against the
OpenAPI document: cancel, idempotency, list filters, sorts and cursors, and
createdAfter."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from db import BatchStatus, ItemState
from db.timeutil import isoformat, parse_iso
from tests.helpers import TERMINAL, check_invariants, wait_for
from tests.openapi_check import CheckedClient, checked_client

BATCHES = "/api/jokes/batches"


@pytest.fixture
def quiet(make_app: Any) -> Flask:
    """An app whose generator does not run: batches stay as the test sets them."""
    return make_app(start=False)


@pytest.fixture
def api(quiet: Flask) -> CheckedClient:
    return checked_client(quiet)


def runtime(app: Flask) -> Any:
    return app.extensions["batch_dashboard"]


def create(api: CheckedClient, body: Any, **headers: str) -> Any:
    return api.post(BATCHES, json=body, headers=headers)


def status(api: CheckedClient, batch_id: str, **query: Any) -> dict[str, Any]:
    response = api.get(f"{BATCHES}/{batch_id}/status", query_string=query)
    assert response.status_code == 200
    return response.get_json()


def advance(app: Flask, batch_id: str, created: int = 0, failed: int = 0) -> None:
    """Finish items of a batch through the store, as workers would."""
    store = runtime(app).service.batches
    for n in range(created):
        item = store.claim(batch_id)
        assert item is not None
        assert store.record_joke(item, f"joke {batch_id} {n}", "test", 1)
    for _ in range(failed):
        item = store.claim(batch_id)
        assert item is not None
        store.finish(item, ItemState.FAILED, 1, "broken")


# -- cancel -------------------------------------------------------------------


def test_cancel_drops_pending_items_and_ends_cancelled(api: CheckedClient) -> None:
    batch_id = create(api, {"batchSize": 4}).get_json()["batchId"]
    advance(api.application, batch_id, created=1)

    response = api.post(f"{BATCHES}/{batch_id}/cancel")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled"
    assert body["cancelled"] == 3
    assert body["completedAt"] is not None
    assert body["remaining"] == 3
    assert len(body["createdIds"]) == 1
    check_invariants(body, None)
    assert status(api, batch_id)["status"] == "cancelled"


def test_cancelling_twice_is_harmless(api: CheckedClient) -> None:
    batch_id = create(api, {"batchSize": 3}).get_json()["batchId"]
    first = api.post(f"{BATCHES}/{batch_id}/cancel").get_json()

    again = api.post(f"{BATCHES}/{batch_id}/cancel")

    assert again.status_code == 200
    assert again.get_json() == first


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_cancelling_a_finished_batch_is_a_409(api: CheckedClient, outcome: str) -> None:
    batch_id = create(api, {"batchSize": 2}).get_json()["batchId"]
    if outcome == "completed":
        advance(api.application, batch_id, created=2)
    else:
        advance(api.application, batch_id, failed=2)
    before = status(api, batch_id)
    assert before["status"] == outcome

    response = api.post(f"{BATCHES}/{batch_id}/cancel")

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    assert status(api, batch_id) == before


def test_cancelling_an_unknown_batch_is_a_404(api: CheckedClient) -> None:
    response = api.post(f"{BATCHES}/batch_0000000000000000/cancel")

    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "batchId"


def test_cancel_while_running_keeps_the_counts_consistent(make_app: Any) -> None:
    app = make_app({"PROVIDER_DELAY": 0.02, "WORKERS": 2})
    api = checked_client(app)
    batch_id = create(api, {"batchSize": 60}).get_json()["batchId"]
    wait_for(lambda: status(api, batch_id)["createdCount"] >= 2)

    cancelled = api.post(f"{BATCHES}/{batch_id}/cancel").get_json()

    assert cancelled["status"] == "cancelled"
    store = runtime(app).service.batches
    wait_for(lambda: store.get(batch_id)["running_count"] == 0)
    final = status(api, batch_id)
    check_invariants(final, cancelled)
    assert final["status"] == "cancelled"
    settled = final["createdCount"] + final["duplicates"] + final["failed"]
    assert settled + final["cancelled"] == final["total"]
    states = [item["state"] for item in store.items(batch_id)]
    assert ItemState.PENDING not in states
    assert ItemState.RUNNING not in states
    assert states.count(ItemState.CANCELLED) == final["cancelled"]


# -- idempotency --------------------------------------------------------------


def test_the_same_key_and_body_return_the_first_batch(api: CheckedClient) -> None:
    body = {"batchSize": 3, "prompts": ["cats"]}
    first = create(api, body, **{"Idempotency-Key": "order-1"})
    count = runtime(api.application).service.batches.count()

    again = api.post(
        BATCHES,
        data=json.dumps({"prompts": ["cats"], "batchSize": 3}, indent=2),
        content_type="application/json",
        headers={"Idempotency-Key": "order-1"},
    )

    assert first.status_code == again.status_code == 202
    assert again.get_json()["batchId"] == first.get_json()["batchId"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert runtime(api.application).service.batches.count() == count


def test_the_same_key_with_another_body_is_a_422(api: CheckedClient) -> None:
    first = create(api, {"batchSize": 3}, **{"Idempotency-Key": "order-2"})
    count = runtime(api.application).service.batches.count()

    other = create(api, {"batchSize": 4}, **{"Idempotency-Key": "order-2"})

    assert other.status_code == 422
    error = other.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "Idempotency-Key"
    assert first.get_json()["batchId"] in error["message"]
    assert runtime(api.application).service.batches.count() == count


@pytest.mark.parametrize(
    "first, again",
    [
        ({"batchSize": 2}, {"batchSize": 2, "prompts": []}),
        ({"prompts": ["cats"]}, {"batchSize": 1, "prompts": ["cats"]}),
        ({"prompts": ["a", "b"]}, {"batchSize": 2, "prompts": ["a", "b"]}),
        (
            {"batchSize": 3, "prompts": ["cats"]},
            {"prompts": [" cats "], "batchSize": 3},
        ),
    ],
)
def test_an_equivalent_body_under_one_key_replays(
    api: CheckedClient, first: dict[str, Any], again: dict[str, Any]
) -> None:
    made = create(api, first, **{"Idempotency-Key": "same-request"})

    replay = create(api, again, **{"Idempotency-Key": "same-request"})

    assert made.status_code == 202
    assert replay.status_code == 202, replay.get_json()
    assert replay.get_json()["batchId"] == made.get_json()["batchId"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert runtime(api.application).service.batches.count() == 1


@pytest.mark.parametrize(
    "first, again",
    [
        ({"batchSize": 2}, {"batchSize": 2, "prompts": ["cats"]}),
        ({"prompts": ["cats"]}, {"batchSize": 2, "prompts": ["cats"]}),
        ({"prompts": ["a", "b"]}, {"prompts": ["b", "a"]}),
        ({"prompts": ["a"]}, {"prompts": ["a", "a"]}),
    ],
)
def test_a_different_request_under_one_key_is_still_a_422(
    api: CheckedClient, first: dict[str, Any], again: dict[str, Any]
) -> None:
    create(api, first, **{"Idempotency-Key": "other-request"})

    other = create(api, again, **{"Idempotency-Key": "other-request"})

    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert runtime(api.application).service.batches.count() == 1


def test_the_quoted_key_of_the_draft_is_the_same_key(api: CheckedClient) -> None:
    first = create(api, {"batchSize": 1}, **{"Idempotency-Key": "abc-123"})

    quoted = create(api, {"batchSize": 1}, **{"Idempotency-Key": '"abc-123"'})

    assert quoted.get_json()["batchId"] == first.get_json()["batchId"]


def test_without_a_key_each_create_is_a_new_batch(api: CheckedClient) -> None:
    first = create(api, {"batchSize": 1}).get_json()["batchId"]
    second = create(api, {"batchSize": 1}).get_json()["batchId"]

    assert first != second


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "tab\there", "caf\u00e9"])
def test_a_malformed_key_is_a_400_and_stores_nothing(
    api: CheckedClient, key: str
) -> None:
    response = api.post(
        BATCHES,
        data=json.dumps({"batchSize": 1}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "Idempotency-Key"
    assert runtime(api.application).service.batches.count() == 0


def test_concurrent_retries_with_one_key_make_one_batch(quiet: Flask) -> None:
    ids: list[str] = []
    start = threading.Barrier(6)

    def retry() -> None:
        client = checked_client(quiet)
        start.wait()
        response = create(client, {"batchSize": 2}, **{"Idempotency-Key": "race"})
        ids.append(response.get_json()["batchId"])

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(ids) == 6
    assert len(set(ids)) == 1
    assert runtime(quiet).service.batches.count() == 1


# -- list: filters, sorts, cursors --------------------------------------------


def listing(api: CheckedClient, **query: Any) -> dict[str, Any]:
    response = api.get(BATCHES, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def every_page(api: CheckedClient, **query: Any) -> list[str]:
    """Follow nextCursor to the end; return the ids in the order served."""
    ids: list[str] = []
    cursor = query.pop("cursor", None)
    for _ in range(100):
        page = listing(api, **query, **({"cursor": cursor} if cursor else {}))
        ids.extend(batch["batchId"] for batch in page["batches"])
        cursor = page["nextCursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ended")


@pytest.fixture
def mixed(api: CheckedClient) -> dict[str, str]:
    """Seven batches of ten items at different progress, in creation order."""
    app = api.application
    progress = {
        "a": (0, 0),
        "b": (5, 0),
        "c": (10, 0),
        "d": (2, 3),
        "e": (5, 0),
        "f": (0, 10),
        "g": (5, 0),
    }
    made = {}
    for name, (created, failed) in progress.items():
        batch_id = create(api, {"batchSize": 10, "prompts": [f"topic {name}"]})
        made[name] = batch_id.get_json()["batchId"]
        advance(app, made[name], created=created, failed=failed)
    runtime(app).service.cancel(made["a"])
    return made


def test_the_default_order_is_newest_first(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    ids = every_page(api, limit=2)

    assert ids == [mixed[name] for name in "gfedcba"]


def test_oldest_first(api: CheckedClient, mixed: dict[str, str]) -> None:
    assert every_page(api, sort="oldest", limit=3) == [mixed[n] for n in "abcdefg"]


def test_progress_puts_the_least_finished_first(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    # Done items over total: a 0, d .5, b/e/g .5 (ties newest first), c/f 1.
    expected = [mixed[name] for name in "agedbfc"]

    for limit in (1, 2, 3, 100):
        assert every_page(api, sort="progress", limit=limit) == expected


def test_minus_progress_puts_the_most_finished_first(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    expected = [mixed[name] for name in "fcgedba"]

    for limit in (1, 2, 3, 100):
        assert every_page(api, sort="-progress", limit=limit) == expected


def test_a_cursor_survives_new_batches_arriving(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    first = listing(api, limit=3)
    create(api, {"batchSize": 1})

    rest = every_page(api, limit=3, cursor=first["nextCursor"])

    seen = [batch["batchId"] for batch in first["batches"]] + rest
    assert seen == [mixed[name] for name in "gfedcba"]


def test_a_cursor_of_another_sort_is_a_400(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    cursor = listing(api, sort="progress", limit=2)["nextCursor"]

    response = api.get(BATCHES, query_string={"sort": "newest", "cursor": cursor})

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "cursor"


def crafted(payload: Any) -> str:
    """A cursor as a client could forge it: any JSON, base64url without padding."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


AT = "2026-01-01T00:00:00.000000+00:00"


@pytest.mark.parametrize(
    "sort, payload",
    [
        # integers out of range
        ("progress", {"sort": "progress", "after": [2**63, 1, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [1, 2**63, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [1, 10**400, AT, "b"]}),
        ("-progress", {"sort": "-progress", "after": [2**62 + 1, 2**62 + 1, AT, "b"]}),
        # over the largest batch (MAX_BATCH_SIZE): no batch has such counts
        ("progress", {"sort": "progress", "after": [1, 1001, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [2**31, 2**31, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [-1, 1, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [0, -5, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [0, 0, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [3, 2, AT, "b"]}),
        # floats, booleans, nulls and strings for numbers
        ("progress", {"sort": "progress", "after": [1.0, 2, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [1, 2.5, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [True, 2, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [None, 2, AT, "b"]}),
        ("progress", {"sort": "progress", "after": ["1", 2, AT, "b"]}),
        # times and ids of the wrong type or shape
        ("newest", {"sort": "newest", "after": [12345, "b"]}),
        ("newest", {"sort": "newest", "after": [None, "b"]}),
        ("newest", {"sort": "newest", "after": ["yesterday", "b"]}),
        ("newest", {"sort": "newest", "after": ["9999-12-31T23:59:59-23:59", "b"]}),
        ("newest", {"sort": "newest", "after": [AT, 7]}),
        ("newest", {"sort": "newest", "after": [AT, 2**64]}),
        ("newest", {"sort": "newest", "after": [AT, None]}),
        ("newest", {"sort": "newest", "after": [AT, ["b"]]}),
        ("newest", {"sort": "newest", "after": [AT, "x" * 65]}),
        ("newest", {"sort": "newest", "after": [AT, "b'; --"]}),
        ("oldest", {"sort": "oldest", "after": [AT, ""]}),
        # wrong arity or container
        ("newest", {"sort": "newest", "after": [AT]}),
        ("newest", {"sort": "newest", "after": []}),
        ("newest", {"sort": "newest", "after": [1, 2, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [AT, "b"]}),
        ("progress", {"sort": "progress", "after": [1, AT, "b"]}),
        ("progress", {"sort": "progress", "after": [1, 2, 3, AT, "b"]}),
        ("newest", {"sort": "newest", "after": {"at": AT, "id": "b"}}),
        ("newest", {"sort": "newest", "after": AT + "b"}),
        ("newest", {"sort": "newest"}),
        ("newest", [AT, "b"]),
        ("newest", "newest"),
        ("newest", 5),
        # not JSON, not UTF-8, not base64
        ("newest", b"{not json"),
        ("newest", b"\xff\xfe"),
        ("newest", b"[" * 400),
        # another sort, a sort that is no sort, no sort
        ("newest", {"sort": "oldest", "after": [AT, "b"]}),
        ("progress", {"sort": "-progress", "after": [1, 2, AT, "b"]}),
        ("newest", {"sort": ["newest"], "after": [AT, "b"]}),
        ("newest", {"after": [AT, "b"]}),
    ],
)
def test_a_forged_cursor_is_a_400_never_a_500(
    api: CheckedClient, mixed: dict[str, str], sort: str, payload: Any
) -> None:
    cursor = crafted(payload)

    response = api.get(BATCHES, query_string={"sort": sort, "cursor": cursor})

    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == "cursor"


@pytest.mark.parametrize("sort", ["newest", "oldest", "progress", "-progress"])
def test_a_cursor_the_api_gave_out_still_works(
    api: CheckedClient, mixed: dict[str, str], sort: str
) -> None:
    page = listing(api, sort=sort, limit=1)

    rest = every_page(api, sort=sort, limit=2, cursor=page["nextCursor"])

    assert len(rest) == len(mixed) - 1


@pytest.mark.parametrize(
    "query, field",
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "e30"}, "cursor"),
        ({"cursor": "W10"}, "cursor"),
        ({"cursor": "x" * 600}, "cursor"),
        ({"status": "running"}, "status"),
        ({"status": "queued,nope"}, "status"),
        ({"sort": "size"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"createdFrom": "yesterday"}, "createdFrom"),
        ({"createdTo": "2026-13-01T00:00:00Z"}, "createdTo"),
        ({"createdFrom": "9999-12-31T23:59:59-23:59"}, "createdFrom"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(
    api: CheckedClient, query: dict[str, str], field: str
) -> None:
    response = api.get(BATCHES, query_string=query)

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_the_status_filter_takes_commas_and_repeats(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    def ids(query: Any) -> set[str]:
        return {b["batchId"] for b in listing(api, **query, limit=100)["batches"]}

    assert ids({"status": "completed"}) == {mixed["c"]}
    assert ids({"status": "cancelled,failed"}) == {mixed["a"], mixed["f"]}
    both = api.get(f"{BATCHES}?status=failed&status=completed&limit=100").get_json()
    assert {b["batchId"] for b in both["batches"]} == {mixed["c"], mixed["f"]}
    for batch in listing(api, status="in_progress", limit=100)["batches"]:
        assert batch["status"] == "in_progress"


def test_the_time_filter_is_from_inclusive_to_exclusive(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    everything = listing(api, sort="oldest", limit=100)["batches"]
    third = everything[2]

    after = listing(api, sort="oldest", createdFrom=third["createdAt"], limit=100)
    before = listing(api, sort="oldest", createdTo=third["createdAt"], limit=100)

    moment = parse_iso(third["createdAt"])
    later = [b["batchId"] for b in everything if parse_iso(b["createdAt"]) >= moment]
    earlier = [b["batchId"] for b in everything if parse_iso(b["createdAt"]) < moment]
    assert [b["batchId"] for b in after["batches"]] == later
    assert [b["batchId"] for b in before["batches"]] == earlier
    future = isoformat(moment + timedelta(days=1))
    assert listing(api, createdFrom=future)["batches"] == []


def test_the_text_filter_matches_prompts_and_ids_literally(
    api: CheckedClient, mixed: dict[str, str]
) -> None:
    percent = create(api, {"batchSize": 1, "prompts": ["100% fun"]})
    percent_id = percent.get_json()["batchId"]

    def ids(text: str) -> list[str]:
        return [b["batchId"] for b in listing(api, q=text, limit=100)["batches"]]

    assert ids("TOPIC C") == [mixed["c"]]
    assert ids(mixed["d"][-6:]) == [mixed["d"]]
    assert ids("%") == [percent_id]
    assert ids("_") == [percent_id, *[mixed[n] for n in "gfedcba"]]
    assert ids("no such topic") == []


# -- createdAfter --------------------------------------------------------------


def test_created_after_returns_only_the_newer_ids(api: CheckedClient) -> None:
    batch_id = create(api, {"batchSize": 10}).get_json()["batchId"]
    advance(api.application, batch_id, created=6)
    full = status(api, batch_id)

    tail = status(api, batch_id, createdAfter=4)

    assert tail["createdIds"] == full["createdIds"][4:]
    assert tail["createdCount"] == full["createdCount"] == 6
    assert tail["createdAfter"] == 4
    assert tail["remaining"] == full["remaining"] == 4
    assert status(api, batch_id, createdAfter=6)["createdIds"] == []
    assert status(api, batch_id, createdAfter=500)["createdIds"] == []


def test_polling_with_created_after_rebuilds_the_whole_list(make_app: Any) -> None:
    app = make_app({"PROVIDER_DELAY": 0.005})
    api = checked_client(app)
    batch_id = create(api, {"batchSize": 40}).get_json()["batchId"]
    ids: list[str] = []

    def probe() -> dict[str, Any] | None:
        answer = status(api, batch_id, createdAfter=len(ids))
        assert answer["createdAfter"] == len(ids)
        ids.extend(answer["createdIds"])
        assert len(ids) == answer["createdCount"]
        return answer if answer["status"] in TERMINAL else None

    final = wait_for(probe)

    assert ids == status(api, batch_id)["createdIds"]
    assert final["status"] == BatchStatus.COMPLETED


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "99999999999"])
def test_a_bad_created_after_is_a_400(api: CheckedClient, value: str) -> None:
    batch_id = create(api, {"batchSize": 1}).get_json()["batchId"]

    response = api.get(f"{BATCHES}/{batch_id}/status?createdAfter={value}")

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "createdAfter"


# -- capacity -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"batchSize": 51}, {"batchSize": 1000}, {"prompts": ["p"] * 51}]
)
def test_a_batch_larger_than_the_queue_is_a_400_not_a_429(
    make_app: Any, body: dict[str, Any]
) -> None:
    api = checked_client(make_app({"MAX_QUEUED_ITEMS": 50}, start=False))

    response = create(api, body)

    assert response.status_code == 400, response.get_json()
    assert "Retry-After" not in response.headers
    error = response.get_json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == "batchSize"
    assert "50" in error["message"] and "MAX_QUEUED_ITEMS" in error["message"]
    assert runtime(api.application).service.batches.count() == 0


def test_a_batch_that_fits_an_empty_queue_waits_with_a_429(make_app: Any) -> None:
    api = checked_client(make_app({"MAX_QUEUED_ITEMS": 50}, start=False))
    assert create(api, {"batchSize": 50}).status_code == 202

    full = create(api, {"batchSize": 1})

    assert full.status_code == 429
    assert full.headers["Retry-After"]
    assert full.get_json()["error"]["code"] == "over_capacity"
