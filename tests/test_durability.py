"""Nothing lost: a batch survives SIGKILL and SIGTERM of the real server."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from db import BatchStore, create_store_engine
from tests.helpers import ServerProcess, check_invariants, serve, wait_for

pytestmark = pytest.mark.server

FINAL_STATES = {"created", "duplicate", "failed"}

# Four workers at 50 ms a joke: a batch of 100 takes over a second, long
# enough to stop the server with part of it done.
BUSY = {
    "BATCH_DASHBOARD_PROVIDER_DELAY": "0.05",
    "BATCH_DASHBOARD_WORKERS": "4",
}
SIZE = 100


class Poller:
    """Polls one batch's status and checks the invariants between any two polls,
    across restarts of the server."""

    def __init__(self, batch_id: str):
        self.batch_id = batch_id
        self.last: dict[str, Any] | None = None
        self.polls = 0

    def poll(self, server: ServerProcess) -> dict[str, Any]:
        response = requests.get(
            f"{server.url}/api/jokes/batches/{self.batch_id}/status", timeout=10
        )
        assert response.status_code == 200, response.text
        status = response.json()
        check_invariants(status, self.last)
        self.last = status
        self.polls += 1
        return status

    def until(
        self, server: ServerProcess, done: Any, timeout: float = 60
    ) -> dict[str, Any]:
        """Poll until ``done(status)``; return that status."""

        def probe() -> dict[str, Any] | None:
            status = self.poll(server)
            return status if done(status) else None

        return wait_for(probe, timeout=timeout)


def _create(server: ServerProcess, size: int = SIZE) -> str:
    response = requests.post(
        f"{server.url}/api/jokes/batches", json={"batchSize": size}, timeout=10
    )
    assert response.status_code == 202, response.text
    return str(response.json()["batchId"])


def _partly_done(status: dict[str, Any]) -> bool:
    done = status["total"] - status["remaining"]
    return status["status"] == "in_progress" and 5 <= done <= status["total"] // 2


def _finished(status: dict[str, Any]) -> bool:
    return status["status"] == "completed"


def _rows(database: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(query, args).fetchall()


def _item_states(database: Path, batch_id: str) -> Counter[str]:
    rows = _rows(database, "SELECT state FROM batch_items WHERE batch_id = ?", batch_id)
    return Counter(state for (state,) in rows)


def check_store(database: Path, batch_id: str, status: dict[str, Any]) -> None:
    """The file itself: every item final once, each joke once, counters exact."""
    items = _rows(
        database,
        "SELECT position, state, joke_id, claim_token FROM batch_items "
        "WHERE batch_id = ? ORDER BY position",
        batch_id,
    )
    assert [position for position, *_ in items] == list(range(status["total"]))
    assert {state for _, state, _, _ in items} <= FINAL_STATES
    assert all(token is None for *_, token in items)

    created = [joke for _, state, joke, _ in items if state == "created"]
    assert len(created) == len(set(created))
    assert sorted(created) == sorted(status["createdIds"])

    shared = _rows(
        database,
        "SELECT content_hash FROM jokes GROUP BY content_hash HAVING count(*) > 1",
    )
    assert shared == []
    # A joke saved by an item that lost its hold is rolled back with it.
    stored = _rows(database, "SELECT id FROM jokes WHERE batch_id = ?", batch_id)
    assert sorted(joke for (joke,) in stored) == sorted(created)

    (batch,) = _rows(
        database,
        "SELECT status, created_count, duplicate_count, failed_count, "
        "cancelled_count, running_count, created_ids FROM batches WHERE id = ?",
        batch_id,
    )
    states = Counter(state for _, state, _, _ in items)
    assert batch[:6] == (
        "completed",
        states["created"],
        states["duplicate"],
        states["failed"],
        0,
        0,
    )
    assert status["duplicates"] == states["duplicate"]
    assert status["failed"] == states["failed"]
    assert json.loads(batch[6]) == status["createdIds"]


def test_a_batch_killed_mid_way_resumes_and_is_counted_once(tmp_path: Path) -> None:
    database = tmp_path / "store.sqlite3"
    with serve(database, BUSY) as server:
        batch_id = _create(server)
        poller = Poller(batch_id)
        poller.until(server, _partly_done)

        assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    before = _item_states(database, batch_id)
    assert 0 < before["pending"] < SIZE

    with serve(database, BUSY) as server:
        final = poller.until(server, _finished)
        assert any("returned" in line and "pending" in line for line in server.log)

    check_store(database, batch_id, final)


def test_sigterm_finishes_running_items_and_exits_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "store.sqlite3"
    with serve(database, BUSY) as server:
        batch_id = _create(server)
        poller = Poller(batch_id)
        poller.until(server, _partly_done)

        assert server.stop(signal.SIGTERM) == 0

    # Within the default grace every running item finished, and no new one was
    # taken: the rest of the batch waits, pending, for the next start.
    states = _item_states(database, batch_id)
    assert states["running"] == 0
    assert states["pending"] > 0
    assert _rows(
        database, "SELECT running_count FROM batches WHERE id = ?", batch_id
    ) == [(0,)]

    with serve(database, BUSY) as server:
        final = poller.until(server, _finished)

    check_store(database, batch_id, final)


@pytest.mark.parametrize("interruption", ["kill", "shutdown"])
def test_an_item_running_when_its_batch_ended_is_closed_not_left_pending(
    tmp_path: Path, interruption: str
) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    store = BatchStore(engine)
    try:
        cancelled, _ = store.create([None] * 3, [])
        failed, _ = store.create([None] * 3, [])
        held = [store.claim(cancelled["id"]), store.claim(failed["id"])]
        store.cancel(cancelled["id"])
        store.fail(failed["id"], "provider unavailable")

        for item in held:
            assert item is not None
            if interruption == "shutdown":
                store.release(item)
        # A start after either kind of stop recovers; it must find nothing to do
        # after a release, and close the items a kill left running.
        store.recover()

        for batch_id, state in (
            (cancelled["id"], "cancelled"),
            (failed["id"], "failed"),
        ):
            states = [item["state"] for item in store.items(batch_id)]
            assert states == [state] * 3
            row = store.get(batch_id)
            assert row["running_count"] == 0
            assert row["cancelled_count"] + row["failed_count"] == 3
        assert store.active_ids() == []
    finally:
        engine.dispose()
