"""The cache of serialised status answers."""

from __future__ import annotations

from flask.testing import FlaskClient

from api.status_cache import StatusCache


def test_an_answer_is_served_only_for_its_version() -> None:
    cache = StatusCache()
    cache.put("batch_a", 3, b"three")

    assert cache.get("batch_a", 3) == b"three"
    assert cache.get("batch_a", 4) is None
    assert cache.get("batch_b", 3) is None


def test_an_older_answer_never_replaces_a_newer_one() -> None:
    cache = StatusCache()
    cache.put("batch_a", 5, b"five")
    cache.put("batch_a", 4, b"four")

    assert cache.get("batch_a", 5) == b"five"


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = StatusCache(entries=2)
    cache.put("batch_a", 1, b"a")
    cache.put("batch_b", 1, b"b")
    cache.get("batch_a", 1)
    cache.put("batch_c", 1, b"c")

    assert cache.get("batch_b", 1) is None
    assert cache.get("batch_a", 1) == b"a"
    assert cache.get("batch_c", 1) == b"c"


def test_a_cached_poll_sees_every_change(make_app) -> None:
    app = make_app(start=False)
    client: FlaskClient = app.test_client()
    location = client.post("/api/jokes/batches", json={"batchSize": 2}).headers[
        "Location"
    ]
    first = client.get(location)
    again = client.get(location)
    assert again.get_data() == first.get_data()

    store = app.extensions["batch_dashboard"].service.batches
    item = store.claim(first.get_json()["batchId"])
    store.record_joke(item, "a joke that changes the status", "test", 1)
    changed = client.get(location).get_json()

    assert changed["status"] == "in_progress"
    assert changed["createdIds"] and changed["remaining"] == 1
    assert changed["version"] > first.get_json()["version"]
    assert again.headers["Cache-Control"] == "no-store"
    assert again.mimetype == "application/json"
