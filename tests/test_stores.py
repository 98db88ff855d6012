"""The joke and batch stores on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db import BatchStatus, BatchStore, ItemState, JokeStore, create_store_engine
from db.states import IllegalTransition, check_transition
from db.stores import content_hash, normalise


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> BatchStore:
    return BatchStore(engine)


def test_sqlite_is_set_up_for_a_threaded_server(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hello   World", "hello world"),
        ("ＦＵＬＬ width", "full width"),
        ("Straße", "STRASSE"),
        ("tabs\tand\nnewlines ", " tabs and newlines"),
    ],
)
def test_normalised_texts_share_a_hash(first: str, second: str) -> None:
    assert normalise(first) == normalise(second)
    assert content_hash(first) == content_hash(second)


def test_saving_the_same_joke_twice_returns_the_first_id(engine: Engine) -> None:
    jokes = JokeStore(engine)

    first = jokes.save("Why do Java developers wear glasses?")
    again = jokes.save("why do java   developers wear glasses?")

    assert first.created and not again.created
    assert again.id == first.id
    assert jokes.count() == 1


def test_eight_threads_saving_the_same_texts_store_each_once(engine: Engine) -> None:
    jokes = JokeStore(engine)
    texts = [f"Joke number {n}: a SQL query walks into a bar." for n in range(50)]
    barrier = threading.Barrier(8)
    results: list[list[tuple[str, bool]]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def save_all(slot: int) -> None:
        try:
            barrier.wait()
            for text in texts:
                saved = jokes.save(text)
                results[slot].append((saved.id, saved.created))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save_all, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert jokes.count() == 50
    # Every thread saw the same id for each text, and exactly one created it.
    for index in range(50):
        ids = {results[slot][index][0] for slot in range(8)}
        created = sum(results[slot][index][1] for slot in range(8))
        assert len(ids) == 1
        assert created == 1


def test_a_new_batch_is_queued_with_every_item_pending(store: BatchStore) -> None:
    batch, new = store.create(["cats", "dogs", "cats"], ["cats", "dogs"])

    assert new
    row = store.get(batch["id"])
    assert row["status"] == BatchStatus.QUEUED
    assert row["total"] == 3
    assert row["started_at"] is None
    assert [i["state"] for i in store.items(batch["id"])] == ["pending"] * 3
    assert [i["prompt"] for i in store.items(batch["id"])] == ["cats", "dogs", "cats"]


def test_counts_follow_the_items(store: BatchStore) -> None:
    batch, _ = store.create([None] * 4, [])
    batch_id = batch["id"]

    first = store.claim(batch_id)
    assert first is not None
    assert store.get(batch_id)["status"] == BatchStatus.IN_PROGRESS
    assert store.get(batch_id)["started_at"] is not None
    store.record_joke(first, "one", "test", 1)

    second = store.claim(batch_id)
    assert second is not None
    assert store.record_joke(second, "ONE", "test", 1) is None  # a duplicate
    store.finish(second, ItemState.DUPLICATE, 2)

    third = store.claim(batch_id)
    assert third is not None
    store.finish(third, ItemState.FAILED, 1, "boom")

    row = store.get(batch_id)
    assert (row["created_count"], row["duplicate_count"], row["failed_count"]) == (
        1,
        1,
        1,
    )
    assert row["status"] == BatchStatus.IN_PROGRESS
    assert row["completed_at"] is None

    fourth = store.claim(batch_id)
    assert fourth is not None
    outcome = store.record_joke(fourth, "two", "test", 1)
    assert outcome is not None and outcome.batch_status == BatchStatus.COMPLETED

    row = store.get(batch_id)
    assert row["status"] == BatchStatus.COMPLETED
    assert row["completed_at"] is not None
    assert row["running_count"] == 0
    assert len(row["created_ids"]) == 2
    assert store.claim(batch_id) is None
    states = sorted(i["state"] for i in store.items(batch_id))
    assert states == ["created", "created", "duplicate", "failed"]


def test_a_batch_whose_items_all_fail_is_failed_with_an_error(
    store: BatchStore,
) -> None:
    batch, _ = store.create([None] * 2, [])
    for _ in range(2):
        item = store.claim(batch["id"])
        assert item is not None
        store.finish(item, ItemState.FAILED, 1, "provider down")

    row = store.get(batch["id"])
    assert row["status"] == BatchStatus.FAILED
    assert "provider down" in row["error"]
    assert row["completed_at"] is not None


def test_a_finish_without_the_hold_changes_nothing(store: BatchStore) -> None:
    batch, _ = store.create([None], [])
    item = store.claim(batch["id"])
    assert item is not None
    store.release(item)

    outcome = store.record_joke(item, "a joke from a stale worker", "test", 1)

    assert outcome is not None and outcome.state is None
    assert store.jokes.count() == 0
    assert store.get(batch["id"])["created_count"] == 0
    assert store.get(batch["id"])["running_count"] == 0
    assert store.items(batch["id"])[0]["state"] == ItemState.PENDING


def test_status_only_moves_forward(store: BatchStore) -> None:
    batch, _ = store.create([None, None], [])
    store.cancel(batch["id"])

    with pytest.raises(IllegalTransition):
        check_transition(batch["id"], BatchStatus.CANCELLED, BatchStatus.IN_PROGRESS)
    assert store.claim(batch["id"]) is None
    store.fail(batch["id"], "too late")
    assert store.get(batch["id"])["status"] == BatchStatus.CANCELLED
    assert store.get(batch["id"])["error"] is None


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("queued", "in_progress", True),
        ("queued", "cancelled", True),
        ("in_progress", "completed", True),
        ("in_progress", "failed", True),
        ("in_progress", "cancelled", True),
        ("in_progress", "queued", False),
        ("completed", "in_progress", False),
        ("completed", "cancelled", False),
        ("failed", "completed", False),
        ("cancelled", "queued", False),
    ],
)
def test_the_transition_table(current: str, target: str, allowed: bool) -> None:
    if allowed:
        check_transition("batch_x", current, BatchStatus(target))
    else:
        with pytest.raises(IllegalTransition):
            check_transition("batch_x", current, BatchStatus(target))


def test_cancel_keeps_running_items_and_the_counts(store: BatchStore) -> None:
    batch, _ = store.create([None] * 3, [])
    running = store.claim(batch["id"])
    assert running is not None

    row, changed = store.cancel(batch["id"])
    assert changed
    assert row["status"] == BatchStatus.CANCELLED
    assert row["cancelled_count"] == 2

    store.record_joke(running, "finished after the cancel", "test", 1)
    row = store.get(batch["id"])
    assert row["status"] == BatchStatus.CANCELLED
    assert row["created_count"] == 1
    remaining = row["total"] - row["created_count"] - row["duplicate_count"]
    assert remaining - row["failed_count"] == row["cancelled_count"]

    _, changed_again = store.cancel(batch["id"])
    assert not changed_again


def test_recover_returns_running_items_to_pending(store: BatchStore) -> None:
    batch, _ = store.create([None] * 2, [])
    assert store.claim(batch["id"]) is not None

    assert store.recover() == 1

    assert [i["state"] for i in store.items(batch["id"])] == ["pending", "pending"]
    assert store.get(batch["id"])["running_count"] == 0


def test_the_schema_keeps_hashes_unique(tmp_path: Path, sqlite_engine: Engine) -> None:
    JokeStore(sqlite_engine).save("only once")
    path = tmp_path / "store.sqlite3"

    with sqlite3.connect(path) as raw, pytest.raises(sqlite3.IntegrityError):
        digest = content_hash("only once")
        raw.execute(
            "INSERT INTO jokes (id, text, content_hash, provider, created_at) "
            "VALUES ('joke_x', 'x', ?, 'raw', '2026-01-01')",
            (digest,),
        )


@pytest.mark.parametrize("sort", ["progress", "-progress"])
def test_progress_pages_take_large_counts(store: BatchStore, sort: str) -> None:
    store.create([None] * 3, [])
    big = 2**31 - 1
    after = (big, big, datetime(2030, 1, 1, tzinfo=UTC), "batch_zzzz")

    rows = store.list(sort=sort, after=after)

    # After a fully done batch come only less finished ones, in "-progress".
    assert len(rows) == (0 if sort == "progress" else 1)
