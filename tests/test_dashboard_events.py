"""Server-Sent Events through the real server, and the change feed behind them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from batch_dashboard.events import ChangeFeed
from tests.helpers import check_invariants, serve, wait_for

pytestmark = pytest.mark.server


def events(response: requests.Response) -> Iterator[tuple[str, Any]]:
    """Parse a stream into (event, data) pairs; comments come as ("comment", text)."""
    name, data = "message", []
    for raw in response.iter_lines(decode_unicode=True):
        line = raw or ""
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []


def create(url: str, size: int) -> str:
    response = requests.post(
        f"{url}/api/jokes/batches", json={"batchSize": size}, timeout=10
    )
    assert response.status_code == 202
    return str(response.json()["batchId"])


def test_a_batch_stream_sends_each_change_then_an_end(tmp_path: Path) -> None:
    env = {"BATCH_DASHBOARD_PROVIDER_DELAY": "0.05", "BATCH_DASHBOARD_WORKERS": "2"}
    with serve(tmp_path / "store.sqlite3", env) as server:
        batch_id = create(server.url, 6)
        url = f"{server.url}/api/jokes/batches/{batch_id}/events"
        with requests.get(url, stream=True, timeout=(5, 20)) as response:
            assert response.status_code == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert response.headers["Cache-Control"] == "no-store"
            seen: list[dict[str, Any]] = []
            ids: list[str] = []
            ended = None
            for name, data in events(response):
                if name == "status":
                    # Each event carries only the ids created since the last.
                    assert data["createdAfter"] == len(ids)
                    ids += data["createdIds"]
                    full = {**data, "createdIds": list(ids)}
                    check_invariants(full, seen[-1] if seen else None)
                    if seen:
                        assert data["version"] > seen[-1]["version"]
                    seen.append(full)
                elif name == "end":
                    ended = data
                    break

    assert ended == {"batchId": batch_id, "status": "completed"}
    assert seen[-1]["status"] == "completed" and seen[-1]["remaining"] == 0
    assert len(seen) >= 2
    assert len(ids) == seen[-1]["createdCount"] == len(set(ids))


def test_streams_are_bounded_and_polling_still_answers_when_they_are_full(
    tmp_path: Path,
) -> None:
    env = {
        "BATCH_DASHBOARD_SSE_MAX_STREAMS": "1",
        "BATCH_DASHBOARD_SSE_HEARTBEAT_SECONDS": "0.2",
    }
    with serve(tmp_path / "store.sqlite3", env) as server:
        batch_id = create(server.url, 2)
        url = f"{server.url}/api/jokes/batches/events"
        first = requests.get(url, stream=True, timeout=(5, 10))
        lines = first.iter_lines(decode_unicode=True)
        # The slot is held once the stream has sent its first bytes.
        wait_for(lambda: next(lines) is not None, timeout=10)

        refused = requests.get(url, timeout=10)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"].isdigit()
        error = refused.json()["error"]
        assert error["code"] == "unavailable" and error["requestId"]

        status = requests.get(f"{server.url}/api/jokes/batches/{batch_id}/status")
        assert status.status_code == 200

        first.close()

        # A closed stream frees its slot at its next write (a heartbeat).
        def reopened() -> requests.Response | None:
            response = requests.get(url, stream=True, timeout=(5, 10))
            if response.ok:
                return response
            response.close()
            return None

        wait_for(reopened, timeout=10, interval=0.1).close()


def test_a_stream_heartbeats_and_ends_at_its_time_limit(tmp_path: Path) -> None:
    env = {
        "BATCH_DASHBOARD_SSE_MAX_SECONDS": "1",
        "BATCH_DASHBOARD_SSE_HEARTBEAT_SECONDS": "0.2",
    }
    with serve(tmp_path / "store.sqlite3", env) as server:
        url = f"{server.url}/api/jokes/batches/events"
        with requests.get(url, stream=True, timeout=(5, 10)) as response:
            received = list(events(response))

    assert ("comment", "heartbeat") in received
    # The server closed the stream by itself: the loop above ran out.
    assert all(name == "comment" for name, _ in received)


def test_an_unknown_batch_or_the_flag_off_answers_404_as_json(tmp_path: Path) -> None:
    env = {"BATCH_DASHBOARD_FEATURE_BATCHES_V2": "off"}
    with serve(tmp_path / "store.sqlite3") as server:
        missing = requests.get(
            f"{server.url}/api/jokes/batches/batch_nope/events", timeout=10
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
    with serve(tmp_path / "other.sqlite3", env) as server:
        for path in ("/api/jokes/batches/events", "/api/jokes/batches/b/events"):
            off = requests.get(server.url + path, timeout=10)
            assert off.status_code == 404
            assert off.json()["error"]["code"] == "feature_disabled"


def test_the_feed_wakes_a_waiting_reader_with_the_changed_ids() -> None:
    feed = ChangeFeed()
    start = feed.seq
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(feed.wait(start, 10)))
    reader.start()
    feed.publish("batch_a")
    reader.join(10)

    assert got[0].ids == frozenset({"batch_a"})
    assert feed.wait(got[0].seq, 0).ids == frozenset()


def test_a_reader_that_fell_behind_the_ring_is_told_to_re_read() -> None:
    feed = ChangeFeed(ring_size=3)
    for index in range(5):
        feed.publish(f"batch_{index}")

    assert feed.wait(0, 0).ids is None
    assert feed.wait(3, 0).ids == frozenset({"batch_3", "batch_4"})


def test_stream_slots_are_bounded() -> None:
    feed = ChangeFeed()
    assert feed.open_stream(2) and feed.open_stream(2)
    assert not feed.open_stream(2)
    feed.close_stream()
    assert feed.open_stream(2)
    assert feed.open_streams == 2
    assert not feed.open_stream(2)


def test_a_stream_the_server_never_started_gives_its_slot_back(make_app: Any) -> None:
    app = make_app({"SSE_MAX_STREAMS": 1}, start=False)
    feed = app.extensions["batch_dashboard"].feed

    # The view's answer, closed by the server before it read any of the body.
    with app.test_request_context("/api/jokes/batches/events"):
        response = app.full_dispatch_request()
        assert response.status_code == 200 and feed.open_streams == 1
        response.close()

    assert feed.open_streams == 0
