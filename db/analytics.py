"""Read-only queries for the dashboard: pages of batches, heads, summaries.

Nothing here writes. The hot read of a poll tick (``heads``) goes by primary
key; the rest read at most one page of batches or one batch's items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from db.engine import read_connection
from db.models import UTCDateTime, batches, items, jokes
from db.states import TERMINAL, BatchStatus
from db.timeutil import as_utc, utcnow

PAGE_SORTS = ("newest", "oldest", "-progress", "duration", "status")

# Order of the "status" sort: what needs attention first.
STATUS_RANK = {
    BatchStatus.IN_PROGRESS: 0,
    BatchStatus.QUEUED: 1,
    BatchStatus.FAILED: 2,
    BatchStatus.CANCELLED: 3,
    BatchStatus.COMPLETED: 4,
}


@dataclass(frozen=True)
class PageQuery:
    """Which batches a view shows, in what order, and which slice of them."""

    sort: str = "newest"
    statuses: tuple[str, ...] = ()
    text: str = ""
    created_from: datetime | None = None
    offset: int = 0
    limit: int = 24


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


@dataclass(frozen=True)
class Overview:
    """Figures for the strip across all batches."""

    by_status: dict[str, int]
    jokes_per_minute: list[tuple[datetime, int]]
    duplicate_rate: float | None
    failure_rate: float | None
    duration_p50: float | None
    duration_p95: float | None
    signature: tuple[Any, ...] = field(default=())


def _seconds(start: ColumnElement[Any], end: ColumnElement[Any], dialect: str) -> Any:
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _filtered(query: Any, page: PageQuery) -> Any:
    if page.statuses:
        query = query.where(batches.c.status.in_(list(page.statuses)))
    if page.text:
        query = query.where(batches.c.search_text.contains(page.text.casefold()))
    if page.created_from is not None:
        query = query.where(batches.c.created_at >= page.created_from)
    return query


def _order(sort: str, dialect: str, now: datetime) -> list[Any]:
    newest = [batches.c.created_at.desc(), batches.c.id.desc()]
    if sort == "oldest":
        return [batches.c.created_at.asc(), batches.c.id.asc()]
    # "-progress": most finished first, as the API spells it; the share is
    # the one the card shows, cancelled items counted as done.
    if sort == "-progress":
        done = (
            batches.c.created_count
            + batches.c.duplicate_count
            + batches.c.failed_count
            + batches.c.cancelled_count
        )
        return [(done * 1.0 / batches.c.total).desc(), *newest]
    if sort == "duration":
        until = func.coalesce(batches.c.completed_at, literal(now, UTCDateTime))
        seconds = _seconds(batches.c.started_at, until, dialect)
        return [batches.c.started_at.is_(None), seconds.desc(), *newest]
    if sort == "status":
        rank = case(
            {str(status): rank for status, rank in STATUS_RANK.items()},
            value=batches.c.status,
            else_=9,
        )
        return [rank, *newest]
    return newest


def page(engine: Engine, query: PageQuery, now: datetime | None = None) -> Page:
    """One page of batches for the grid, and how many match in all."""
    now = now or utcnow()
    dialect = engine.dialect.name
    rows_query = (
        _filtered(select(batches), query)
        .order_by(*_order(query.sort, dialect, now))
        .offset(query.offset)
        .limit(query.limit)
    )
    count_query = _filtered(select(func.count()).select_from(batches), query)
    with read_connection(engine) as conn:
        rows = [dict(row._mapping) for row in conn.execute(rows_query)]
        total = conn.execute(count_query).scalar_one()

    return Page(rows, total)


def heads(engine: Engine, batch_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Version, status and last change of each batch, by primary key."""
    if not batch_ids:
        return {}

    query = select(
        batches.c.id, batches.c.version, batches.c.status, batches.c.updated_at
    ).where(batches.c.id.in_(list(batch_ids)))
    with read_connection(engine) as conn:
        return {row.id: dict(row._mapping) for row in conn.execute(query)}


def newest_created_at(engine: Engine) -> datetime | None:
    """When the newest batch was created (the created_at index answers it)."""
    with read_connection(engine) as conn:
        value = conn.execute(select(func.max(batches.c.created_at))).scalar_one()

    return as_utc(value) if isinstance(value, datetime) else _parse_naive(value)


def last_change(engine: Engine) -> tuple[int, datetime | None]:
    """How many batches exist and when any last changed: the overview's key."""
    query = select(func.count(), func.max(batches.c.updated_at))
    with read_connection(engine) as conn:
        count, latest = conn.execute(query).one()

    at = as_utc(latest) if isinstance(latest, datetime) else _parse_naive(latest)
    return int(count), at


def _minute(column: Any, dialect: str) -> Any:
    """The minute a timestamp falls in, computed by the database."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M", column)
    return func.date_trunc("minute", column)


def _minute_value(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = as_utc(value)
        assert moment is not None
        return moment.replace(second=0, microsecond=0)
    parsed = _parse_naive(value)
    assert parsed is not None
    return parsed


def _parse_naive(value: Any) -> datetime | None:
    # Aggregates skip the column type, so SQLite hands back the stored text.
    if value is None:
        return None

    return as_utc(datetime.fromisoformat(str(value)))


def percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None

    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def overview(engine: Engine, now: datetime | None = None) -> Overview:
    """Batches by status, jokes per minute over the last hour, rates, durations."""
    now = now or utcnow()
    since = now - timedelta(hours=1)
    by_status_query = select(batches.c.status, func.count()).group_by(batches.c.status)
    totals_query = select(
        func.coalesce(func.sum(batches.c.created_count), 0),
        func.coalesce(func.sum(batches.c.duplicate_count), 0),
        func.coalesce(func.sum(batches.c.failed_count), 0),
    )
    durations_query = (
        select(batches.c.started_at, batches.c.completed_at)
        .where(
            batches.c.status.in_([str(s) for s in TERMINAL]),
            batches.c.started_at.is_not(None),
        )
        .order_by(batches.c.created_at.desc())
        .limit(2000)
    )
    minute = _minute(jokes.c.created_at, engine.dialect.name)
    recent_query = (
        select(minute, func.count()).where(jokes.c.created_at >= since).group_by(minute)
    )
    with read_connection(engine) as conn:
        by_status = {row[0]: int(row[1]) for row in conn.execute(by_status_query)}
        created, duplicates, failed = conn.execute(totals_query).one()
        durations = [
            (row.completed_at - row.started_at).total_seconds()
            for row in conn.execute(durations_query)
            if row.completed_at is not None
        ]
        minutes = {
            _minute_value(at): int(count) for at, count in conn.execute(recent_query)
        }

    start = since.replace(second=0, microsecond=0)
    series = [
        (start + timedelta(minutes=i), minutes.get(start + timedelta(minutes=i), 0))
        for i in range(61)
    ]

    done = created + duplicates + failed
    return Overview(
        by_status=by_status,
        jokes_per_minute=series,
        duplicate_rate=duplicates / done if done else None,
        failure_rate=failed / done if done else None,
        duration_p50=percentile(durations, 0.5),
        duration_p95=percentile(durations, 0.95),
    )


def item_timings(engine: Engine, batch_id: str) -> list[dict[str, Any]]:
    """Each item's state, attempts and times: the detail view's raw data."""
    query = (
        select(
            items.c.position,
            items.c.state,
            items.c.attempts,
            items.c.started_at,
            items.c.finished_at,
        )
        .where(items.c.batch_id == batch_id)
        .order_by(items.c.position)
    )
    with read_connection(engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
