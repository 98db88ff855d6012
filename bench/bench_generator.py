"""Items per second through the generator, beside raw sqlite3 writes.

The generator runs with the shipped number of workers and a provider that
answers at once with unique texts, on a temporary SQLite file. The raw
figures write the same jokes and items rows with the same pragmas: one
transaction per item (as the generator commits per item) and, for
reference, one per thousand.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from batch_dashboard.settings import load_settings
from bench.common import median, quick, ratio_line
from db import BatchStore, JokeStore, create_store_engine
from db.engine import BUSY_TIMEOUT_MS
from db.models import batches as batch_table
from db.stores import content_hash
from generator import JokeRequest, ThreadPoolBatchExecutor

BATCHED = 1_000
# How often the bench looks whether the batches are done; a light read.
POLL_SECONDS = 0.01


class CounterProvider:
    """Answers at once; every text is new, so no item is a duplicate."""

    name = "counter"

    def __init__(self) -> None:
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def generate(self, request: JokeRequest) -> str:
        with self._lock:
            number = next(self._numbers)
        return f"Counter joke {number} for {request.batch_id} item {request.position}."


def generator_rate(folder: Path, batches: int, size: int, workers: int) -> float:
    """Items per second from the executor's start to the last batch's end."""
    engine = create_store_engine(
        f"sqlite:///{folder / 'generator.sqlite3'}", pool_size=workers + 4
    )
    store = BatchStore(engine, JokeStore(engine))
    executor = ThreadPoolBatchExecutor(
        store, CounterProvider(), workers=workers, retry_backoff=0
    )
    ids = [store.create([None] * size, [])[0]["id"] for _ in range(batches)]
    unfinished = select(func.count()).where(
        batch_table.c.id.in_(ids), batch_table.c.completed_at.is_(None)
    )
    try:
        started = time.perf_counter()
        executor.start()
        deadline = started + 120
        while True:
            with engine.connect() as conn:
                if conn.execute(unfinished).scalar_one() == 0:
                    break
            if time.perf_counter() > deadline:
                raise RuntimeError("the batches did not complete in 120s")
            time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - started
        created = sum(store.get(batch_id)["created_count"] for batch_id in ids)
        if created != batches * size:
            raise RuntimeError(f"{created} of {batches * size} items were created")
    finally:
        executor.shutdown(grace=5)
        engine.dispose()
    return batches * size / elapsed


def _connect(path: Path) -> sqlite3.Connection:
    # The pragmas db.engine sets on every connection of the store.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _raw_rows(batch_id: str, count: int) -> list[tuple[tuple[Any, ...], ...]]:
    stamp = "2026-01-01 00:00:00.000000"
    rows: list[tuple[tuple[Any, ...], ...]] = []
    for position in range(count):
        text = f"Counter joke {position} for {batch_id} item {position}."
        joke_id = f"joke_{hashlib.sha1(text.encode()).hexdigest()[:16]}"
        rows.append(
            (
                (joke_id, text, content_hash(text), "counter", None, batch_id, stamp),
                (batch_id, position, None, "created", 1, joke_id, stamp, stamp),
            )
        )
    return rows


_JOKE = (
    "INSERT INTO jokes (id, text, content_hash, provider, prompt, batch_id, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ITEM = (
    "INSERT INTO batch_items (batch_id, position, prompt, state, attempts, "
    "joke_id, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def raw_rate(folder: Path, count: int, per_transaction: int, name: str) -> float:
    """Rows (a joke and its item) per second, ``per_transaction`` per commit."""
    path = folder / f"{name}.sqlite3"
    create_store_engine(f"sqlite:///{path}").dispose()
    conn = _connect(path)
    try:
        batch_id = f"batch_{name}"
        conn.execute(
            "INSERT INTO batches (id, status, total, prompts, search_text, "
            "created_count, duplicate_count, failed_count, cancelled_count, "
            "running_count, created_ids, version, created_at, updated_at) "
            "VALUES (?, 'in_progress', ?, '[]', ?, 0, 0, 0, 0, 0, '[]', 1, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            (batch_id, count, batch_id),
        )
        rows = _raw_rows(batch_id, count)
        started = time.perf_counter()
        for first in range(0, count, per_transaction):
            chunk = rows[first : first + per_transaction]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_JOKE, [joke for joke, _ in chunk])
            conn.executemany(_ITEM, [item for _, item in chunk])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return count / elapsed


def run() -> list[str]:
    """Measure and return the report lines."""
    settings = load_settings()
    batches, size, rounds = (2, 100, 1) if quick() else (3, settings.max_batch_size, 3)
    count = batches * size
    workers = settings.workers
    figures: dict[str, list[float]] = {"generator": [], "per_row": [], "batched": []}
    for number in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-generator-") as tmp:
            folder = Path(tmp)
            figures["generator"].append(generator_rate(folder, batches, size, workers))
            figures["per_row"].append(raw_rate(folder, count, 1, f"row{number}"))
            figures["batched"].append(
                raw_rate(folder, count, BATCHED, f"batched{number}")
            )

    generator, per_row, batched = (
        median(figures[k]) for k in ("generator", "per_row", "batched")
    )
    return [
        f"generator, {workers} workers, zero-delay provider, {batches} batches of "
        f"{size:,}: {generator:,.0f} items/s",
        f"raw sqlite3, same rows, one transaction per row: {per_row:,.0f} rows/s",
        f"raw sqlite3, same rows, {BATCHED:,} per transaction: {batched:,.0f} rows/s",
        ratio_line("generator / raw per row", generator / per_row),
        ratio_line("generator / raw batched", generator / batched),
        f"(median of {rounds} rounds of {count:,} items)",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
    sys.exit(0)
