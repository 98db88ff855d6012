"""Fill a store fast: bulk Core inserts into the schema the app creates
(``create_store_engine`` is what ``create_app`` builds its store with)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from db.engine import create_store_engine
from db.models import batches, items, jokes
from db.timeutil import utcnow

CHUNK = 5_000


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def fill_store(
    database: Path, batch_count: int, jokes_per_batch: int, target_ids: int = 50
) -> str:
    """Store ``batch_count`` completed batches; return the id of one whose
    status lists ``target_ids`` created ids (the others have
    ``jokes_per_batch``)."""
    engine = create_store_engine(f"sqlite:///{database}")
    start = utcnow() - timedelta(days=1)
    batch_rows: list[dict[str, Any]] = []
    joke_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    target = ""
    for number in range(batch_count):
        batch_id = f"batch_{number:016x}"
        size = target_ids if number == batch_count // 2 else jokes_per_batch
        if size == target_ids:
            target = batch_id
        at = start + timedelta(seconds=number)
        ids = []
        for position in range(size):
            joke_id = f"joke_{number:08x}{position:08x}"
            text = f"Joke {position} of {batch_id}: a bench filler that is unique."
            ids.append(joke_id)
            joke_rows.append(
                {
                    "id": joke_id,
                    "text": text,
                    "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                    "provider": "bench",
                    "prompt": None,
                    "batch_id": batch_id,
                    "created_at": at,
                }
            )
            item_rows.append(
                {
                    "batch_id": batch_id,
                    "position": position,
                    "prompt": None,
                    "state": "created",
                    "attempts": 1,
                    "joke_id": joke_id,
                    "started_at": at,
                    "finished_at": at,
                }
            )
        batch_rows.append(
            {
                "id": batch_id,
                "status": "completed",
                "total": size,
                "prompts": [],
                "search_text": batch_id,
                "created_count": size,
                "duplicate_count": 0,
                "failed_count": 0,
                "cancelled_count": 0,
                "running_count": 0,
                "created_ids": ids,
                "error": None,
                "version": size + 2,
                "created_at": at,
                "started_at": at,
                "completed_at": at,
                "updated_at": at,
            }
        )

    with engine.begin() as conn:
        for table, rows in (
            (batches, batch_rows),
            (jokes, joke_rows),
            (items, item_rows),
        ):
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return target
