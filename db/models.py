"""The schema: jokes, batches and one row per batch item."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.timeutil import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back with its zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        moment = as_utc(value)
        if moment is not None and dialect.name == "sqlite":
            return moment.replace(tzinfo=None)

        return moment

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return as_utc(value)


class Base(DeclarativeBase):
    pass


class Joke(Base):
    __tablename__ = "jokes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(40))
    prompt: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("batches.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    prompts: Mapped[list[str]] = mapped_column(JSON)
    # Text the list filter searches: the id and the prompts, lower-cased.
    search_text: Mapped[str] = mapped_column(Text)

    # Counters move in the same transaction as the item they count, so
    # remaining = total - created - duplicates - failed can never drift.
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_count: Mapped[int] = mapped_column(Integer, default=0)
    running_count: Mapped[int] = mapped_column(Integer, default=0)
    # Ids in the order they were created: a precomputed read for status polls.
    created_ids: Mapped[list[str]] = mapped_column(JSON)

    error: Mapped[str | None] = mapped_column(Text)
    # Bumped on every visible change; pollers and streams compare it.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_batches_created_at", "created_at", "id"),
        Index("ix_batches_status", "status"),
        Index("ix_batches_updated_at", "updated_at"),
    )


class BatchItem(Base):
    __tablename__ = "batch_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    joke_id: Mapped[str | None] = mapped_column(ForeignKey("jokes.id"))
    error: Mapped[str | None] = mapped_column(Text)
    # Set while a worker holds the item; a finish must present it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("batch_id", "position"),
        Index("ix_items_batch_state_position", "batch_id", "state", "position"),
        Index("ix_items_state", "state"),
    )


# The tables, for Core statements (the hot paths use Core, not the ORM).
batches = cast(Table, Batch.__table__)
items = cast(Table, BatchItem.__table__)
jokes = cast(Table, Joke.__table__)
