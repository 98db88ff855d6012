"""Read-only analytics over a real SQLite store."""

from __future__ import annotations

from typing import Any

from db import analytics
from tests.browser.mixed import finish, make_mixed


def test_the_overview_counts_batches_jokes_and_rates(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    make_mixed(service)
    engine = service.batches.engine

    summary = analytics.overview(engine)

    assert summary.by_status == {
        "completed": 1,
        "failed": 1,
        "cancelled": 1,
        "in_progress": 2,
        "queued": 1,
    }
    # 8 + 3 + 24 + 5 jokes were created within the last hour.
    assert sum(count for _, count in summary.jokes_per_minute) == 40
    assert len(summary.jokes_per_minute) == 61
    assert summary.failure_rate == 3 / 43
    assert summary.duplicate_rate == 0
    assert summary.duration_p50 is not None and summary.duration_p95 is not None


def test_pages_sort_filter_and_count(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    made = make_mixed(service)
    engine = service.batches.engine

    by_status = analytics.page(engine, analytics.PageQuery(sort="status"))
    assert [row["status"] for row in by_status.rows][:2] == ["in_progress"] * 2
    assert by_status.rows[-1]["status"] == "completed"

    # Finished batches (cancelled ones too) lead; the queued one comes last.
    progress = analytics.page(engine, analytics.PageQuery(sort="-progress", limit=3))
    assert progress.total == 6 and len(progress.rows) == 3
    assert {row["status"] for row in progress.rows} == {
        "completed",
        "failed",
        "cancelled",
    }
    last = analytics.page(engine, analytics.PageQuery(sort="-progress", offset=5))
    assert [row["id"] for row in last.rows] == [made["queued"]]

    text = analytics.page(engine, analytics.PageQuery(text="COFFEE"))
    assert [row["id"] for row in text.rows] == [made["in_progress"]]

    several = analytics.page(
        engine, analytics.PageQuery(statuses=("failed", "cancelled"), sort="oldest")
    )
    assert [row["id"] for row in several.rows] == [made["failed"], made["cancelled"]]


def test_heads_read_only_version_status_and_time(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_id = service.create({"batchSize": 3}).batch["id"]
    before = analytics.heads(service.batches.engine, [batch_id])[batch_id]
    finish(service, batch_id, 1, "head")
    after = analytics.heads(service.batches.engine, [batch_id, "batch_gone"])

    assert set(after) == {batch_id}
    assert after[batch_id]["version"] > before["version"]
    assert after[batch_id]["status"] == "in_progress"
    assert set(after[batch_id]) == {"id", "version", "status", "updated_at"}
