"""The joke store and the batch store.

Every write is one short transaction that takes the write lock at its start.
Workers change items (and the counters on their batch in the same
transaction); request handlers create and cancel batches and otherwise read.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from db.engine import read_connection, write_transaction
from db.models import batches, items, jokes
from db.states import (
    ACTIVE,
    TERMINAL,
    BatchStatus,
    ItemState,
    check_transition,
)
from db.timeutil import utcnow

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The form two jokes are compared in: NFKC, case-folded, spaces collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _insert_ignoring_conflict(
    conn: Connection, table: Any, row: dict[str, Any]
) -> bool:
    """Insert ``row`` unless its unique key exists; say whether it went in."""
    # RETURNING, not rowcount: some drivers report -1 for a conflict-free insert.
    inserted = conn.execute(_conflict_free_insert(conn.dialect.name, table), row)
    return inserted.first() is not None


@functools.cache
def _conflict_free_insert(dialect: str, table: Any) -> Any:
    # Built once per table: the generator inserts a joke per item.
    key = list(table.primary_key)
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing().returning(*key)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing().returning(*key)
    raise NotImplementedError(f"no conflict-free insert for {dialect}")


@dataclass(frozen=True)
class SavedJoke:
    id: str
    created: bool


@dataclass(frozen=True)
class ClaimedItem:
    """An item a worker holds; ``token`` proves the hold when it finishes."""

    id: int
    batch_id: str
    position: int
    prompt: str | None
    attempts: int
    token: str


@dataclass(frozen=True)
class Outcome:
    """What finishing an item did: its final state and the batch's status."""

    state: ItemState | None
    joke_id: str | None
    batch_status: BatchStatus


class BatchNotFound(LookupError):
    def __init__(self, batch_id: str):
        super().__init__(f"no batch {batch_id}")
        self.batch_id = batch_id


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""

    def __init__(self, batch_id: str):
        super().__init__(f"idempotency key already used for batch {batch_id}")
        self.batch_id = batch_id


class CapacityExceeded(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _HoldLost(Exception):
    def __init__(self, outcome: Outcome):
        self.outcome = outcome


class JokeStore:
    """Jokes, each stored once by the hash of its normalised text."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def save(
        self,
        text: str,
        provider: str = "manual",
        prompt: str | None = None,
        batch_id: str | None = None,
    ) -> SavedJoke:
        """Store ``text`` unless an equal joke exists; return its id either way."""
        with write_transaction(self.engine) as conn:
            return self.save_in(conn, text, provider, prompt, batch_id)

    def save_in(
        self,
        conn: Connection,
        text: str,
        provider: str,
        prompt: str | None,
        batch_id: str | None,
    ) -> SavedJoke:
        digest = content_hash(text)
        joke_id = new_id("joke")
        row: dict[str, Any] = {
            "id": joke_id,
            "text": text,
            "content_hash": digest,
            "provider": provider,
            "prompt": prompt,
            "batch_id": batch_id,
            "created_at": utcnow(),
        }
        if _insert_ignoring_conflict(conn, jokes, row):
            return SavedJoke(joke_id, True)

        existing = conn.execute(
            select(jokes.c.id).where(jokes.c.content_hash == digest)
        ).scalar_one()
        return SavedJoke(existing, False)

    def get(self, joke_id: str) -> dict[str, Any] | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(jokes).where(jokes.c.id == joke_id)).first()

        return dict(row._mapping) if row else None

    def for_batch(self, batch_id: str) -> list[dict[str, Any]]:
        """The jokes a batch created, in the order it created them."""
        query = (
            select(
                jokes,
                items.c.position,
                items.c.attempts,
                items.c.started_at.label("item_started_at"),
            )
            .join(items, items.c.joke_id == jokes.c.id)
            .where(items.c.batch_id == batch_id, items.c.state == ItemState.CREATED)
            .order_by(items.c.finished_at, items.c.position)
        )
        with read_connection(self.engine) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with read_connection(self.engine) as conn:
            return conn.execute(select(func.count()).select_from(jokes)).scalar_one()


# Built once: the status poll's one statement, the hottest read there is.
_BATCH_BY_ID = select(batches).where(batches.c.id == bindparam("batch_id"))

# The generator's statements, built once: each item runs them.
_LOCK_BATCH = (
    select(batches.c.id).where(batches.c.id == bindparam("batch_id")).with_for_update()
)
_STATUS_BY_ID = select(batches.c.status).where(batches.c.id == bindparam("batch_id"))
_CLAIM_NEXT = (
    update(items)
    .where(
        items.c.id
        == select(items.c.id)
        .where(
            items.c.batch_id == bindparam("b_batch"),
            items.c.state == ItemState.PENDING,
        )
        .order_by(items.c.position)
        .limit(1)
        .scalar_subquery(),
        # Checked again so that a claim racing another one takes nothing.
        items.c.state == ItemState.PENDING,
    )
    .values(
        state=ItemState.RUNNING,
        claim_token=bindparam("b_token"),
        started_at=bindparam("b_now"),
    )
    .returning(items.c.id, items.c.position, items.c.prompt, items.c.attempts)
)
_FINISH_HELD = (
    update(items)
    .where(
        items.c.id == bindparam("b_item"),
        items.c.state == ItemState.RUNNING,
        items.c.claim_token == bindparam("b_token"),
    )
    .values(
        state=bindparam("state"),
        attempts=bindparam("attempts"),
        joke_id=bindparam("joke_id"),
        error=bindparam("error"),
        finished_at=bindparam("finished_at"),
        claim_token=None,
    )
)

_HOLD_ONE_MORE = (
    update(batches)
    .where(batches.c.id == bindparam("b_batch"))
    .values(running_count=batches.c.running_count + 1)
)

_VERSION_BY_ID = select(batches.c.version).where(batches.c.id == bindparam("batch_id"))


def _fetch_version(engine: Engine, batch_id: str) -> int:
    """``_VERSION_BY_ID`` run on a pooled driver connection.

    A status poll whose answer is cached asks only this: one integer by
    primary key, without SQLAlchemy's per-statement bookkeeping, which costs
    more than the read itself. One statement needs no BEGIN: SQLite reads it
    from one snapshot.
    """
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert driver is not None
        cursor = driver.execute(_version_sql(engine.dialect), (batch_id,))
        row = cursor.fetchone()
        cursor.close()
    finally:
        pooled.close()
    if row is None:
        raise BatchNotFound(batch_id)

    return int(row[0])


@functools.cache
def _version_sql(dialect: Dialect) -> str:
    return str(_VERSION_BY_ID.compile(dialect=dialect))


SORTS = {
    "newest": (batches.c.created_at.desc(), batches.c.id.desc()),
    "oldest": (batches.c.created_at.asc(), batches.c.id.asc()),
}


class BatchStore:
    """Batches with their items; the counts are kept beside the items."""

    def __init__(self, engine: Engine, joke_store: JokeStore | None = None):
        self.engine = engine
        self.jokes = joke_store or JokeStore(engine)

    @contextmanager
    def _writing(self, batch_id: str) -> Iterator[Connection]:
        """A write transaction that holds the batch's row until it ends.

        SQLite has one writer at a time already; on a server database the row
        lock keeps two writers of one batch's counters from losing an update.
        Every writer takes it first, so they cannot deadlock on each other.
        """
        with write_transaction(self.engine) as conn:
            if conn.dialect.name != "sqlite":
                conn.execute(_LOCK_BATCH, {"batch_id": batch_id})
            yield conn

    # -- creating and cancelling (request handlers) --------------------------

    def create(
        self,
        prompts_per_item: Sequence[str | None],
        prompts: Sequence[str],
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        max_active_batches: int | None = None,
        max_queued_items: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a batch and its items at once; say whether it is new.

        With an idempotency key seen before, the first batch comes back
        (``IdempotencyConflict`` when the request differs).
        """
        now = utcnow()
        batch_id = new_id("batch")
        total = len(prompts_per_item)
        with write_transaction(self.engine) as conn:
            if idempotency_key is not None:
                existing = conn.execute(
                    select(batches).where(batches.c.idempotency_key == idempotency_key)
                ).first()
                if existing is not None:
                    if existing.request_hash != request_hash:
                        raise IdempotencyConflict(existing.id)
                    return dict(existing._mapping), False

            self._check_capacity(conn, total, max_active_batches, max_queued_items)
            row = {
                "id": batch_id,
                "status": BatchStatus.QUEUED,
                "total": total,
                "prompts": list(prompts),
                "search_text": " ".join([batch_id, *prompts]).casefold(),
                "created_count": 0,
                "duplicate_count": 0,
                "failed_count": 0,
                "cancelled_count": 0,
                "running_count": 0,
                "created_ids": [],
                "error": None,
                "version": 1,
                "created_at": now,
                "started_at": None,
                "completed_at": None,
                "updated_at": now,
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
            }
            conn.execute(insert(batches), [row])
            conn.execute(
                insert(items),
                [
                    {
                        "batch_id": batch_id,
                        "position": position,
                        "prompt": prompt,
                        "state": ItemState.PENDING,
                        "attempts": 0,
                    }
                    for position, prompt in enumerate(prompts_per_item)
                ],
            )

        logger.info("batch %s created with %d items", batch_id, total)
        return row, True

    def _check_capacity(
        self,
        conn: Connection,
        total: int,
        max_active_batches: int | None,
        max_queued_items: int | None,
    ) -> None:
        if max_active_batches is None and max_queued_items is None:
            return

        active, open_items = conn.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(
                        batches.c.total
                        - batches.c.created_count
                        - batches.c.duplicate_count
                        - batches.c.failed_count
                        - batches.c.cancelled_count
                    ),
                    0,
                ),
            ).where(batches.c.status.in_([str(s) for s in ACTIVE]))
        ).one()
        if max_active_batches is not None and active + 1 > max_active_batches:
            raise CapacityExceeded(
                f"{active} batches are unfinished; the limit is {max_active_batches}"
            )

        if max_queued_items is not None and open_items + total > max_queued_items:
            raise CapacityExceeded(
                f"{open_items} items are queued; {total} more would pass the limit "
                f"of {max_queued_items}"
            )

    def cancel(self, batch_id: str) -> tuple[dict[str, Any], bool]:
        """Drop the pending items and end the batch as cancelled.

        Cancelling a cancelled batch changes nothing and says so; any other
        terminal batch raises ``IllegalTransition``.
        """
        now = utcnow()
        with self._writing(batch_id) as conn:
            batch = self._row(conn, batch_id)
            if batch["status"] == BatchStatus.CANCELLED:
                return batch, False

            check_transition(batch_id, batch["status"], BatchStatus.CANCELLED)
            dropped = conn.execute(
                update(items)
                .where(items.c.batch_id == batch_id, items.c.state == ItemState.PENDING)
                .values(state=ItemState.CANCELLED, finished_at=now)
            ).rowcount
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(
                    status=BatchStatus.CANCELLED,
                    cancelled_count=batches.c.cancelled_count + dropped,
                    completed_at=now,
                    updated_at=now,
                    version=batches.c.version + 1,
                )
            )
            batch = self._row(conn, batch_id)

        logger.info("batch %s cancelled, %d pending items dropped", batch_id, dropped)
        return batch, True

    def fail(self, batch_id: str, error: str) -> None:
        """End an unfinished batch as failed: its pending items fail with it."""
        now = utcnow()
        with self._writing(batch_id) as conn:
            batch = self._row(conn, batch_id)
            if BatchStatus(batch["status"]).terminal:
                return

            check_transition(batch_id, batch["status"], BatchStatus.FAILED)
            failed = conn.execute(
                update(items)
                .where(items.c.batch_id == batch_id, items.c.state == ItemState.PENDING)
                .values(state=ItemState.FAILED, error=error, finished_at=now)
            ).rowcount
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(
                    status=BatchStatus.FAILED,
                    error=error,
                    failed_count=batches.c.failed_count + failed,
                    completed_at=now,
                    updated_at=now,
                    version=batches.c.version + 1,
                )
            )

        logger.error("batch %s failed: %s", batch_id, error)

    # -- the work (generator threads) ----------------------------------------

    def claim(self, batch_id: str) -> ClaimedItem | None:
        """Take the batch's next pending item, or ``None`` when it has none."""
        now = utcnow()
        token = secrets.token_hex(8)
        with self._writing(batch_id) as conn:
            status = conn.execute(
                _STATUS_BY_ID, {"batch_id": batch_id}
            ).scalar_one_or_none()
            if status is None or BatchStatus(status).terminal:
                return None

            row = conn.execute(
                _CLAIM_NEXT, {"b_batch": batch_id, "b_token": token, "b_now": now}
            ).first()
            if row is None:
                return None

            if status == BatchStatus.QUEUED:
                check_transition(batch_id, status, BatchStatus.IN_PROGRESS)
                conn.execute(
                    update(batches)
                    .where(batches.c.id == batch_id)
                    .values(
                        running_count=batches.c.running_count + 1,
                        status=BatchStatus.IN_PROGRESS,
                        started_at=now,
                        updated_at=now,
                        version=batches.c.version + 1,
                    )
                )
            else:
                conn.execute(_HOLD_ONE_MORE, {"b_batch": batch_id})

        if status == BatchStatus.QUEUED:
            logger.info("batch %s in progress", batch_id)
        return ClaimedItem(
            row.id, batch_id, row.position, row.prompt, row.attempts, token
        )

    def record_joke(
        self, item: ClaimedItem, text: str, provider: str, attempts: int
    ) -> Outcome | None:
        """Store the item's joke and finish it as created, in one transaction.

        Returns ``None`` when the text is a duplicate (the item stays held),
        and an outcome with no state when the item is no longer held.
        """
        try:
            with self._writing(item.batch_id) as conn:
                saved = self.jokes.save_in(
                    conn, text, provider, item.prompt, item.batch_id
                )
                if not saved.created:
                    return None

                outcome = self._finish(
                    conn, item, ItemState.CREATED, attempts, saved.id
                )
                if outcome.state is None:
                    # The hold was lost: undo the joke so that it is not orphaned.
                    raise _HoldLost(outcome)
                return outcome
        except _HoldLost as lost:
            return lost.outcome

    def finish(
        self,
        item: ClaimedItem,
        state: ItemState,
        attempts: int,
        error: str | None = None,
    ) -> Outcome:
        """Finish a held item as a duplicate or as failed."""
        with self._writing(item.batch_id) as conn:
            return self._finish(conn, item, state, attempts, None, error)

    def _finish(
        self,
        conn: Connection,
        item: ClaimedItem,
        state: ItemState,
        attempts: int,
        joke_id: str | None,
        error: str | None = None,
    ) -> Outcome:
        now = utcnow()
        held = conn.execute(
            _FINISH_HELD,
            {
                "b_item": item.id,
                "b_token": item.token,
                "state": state,
                "attempts": attempts,
                "joke_id": joke_id,
                "error": error,
                "finished_at": now,
            },
        ).rowcount
        batch = self._row(conn, item.batch_id)
        if not held:
            return Outcome(None, None, BatchStatus(batch["status"]))

        counter = {
            ItemState.CREATED: "created_count",
            ItemState.DUPLICATE: "duplicate_count",
            ItemState.FAILED: "failed_count",
        }[state]
        values: dict[str, Any] = {
            counter: batch[counter] + 1,
            "running_count": batch["running_count"] - 1,
            "updated_at": now,
            "version": batch["version"] + 1,
        }
        if joke_id is not None:
            values["created_ids"] = [*batch["created_ids"], joke_id]

        status = BatchStatus(batch["status"])
        done = (
            batch["created_count"]
            + batch["duplicate_count"]
            + batch["failed_count"]
            + batch["cancelled_count"]
            + 1
        )
        if not status.terminal and done == batch["total"]:
            failed_all = (
                state == ItemState.FAILED
                and batch["failed_count"] + 1 == (batch["total"])
            )
            status = BatchStatus.FAILED if failed_all else BatchStatus.COMPLETED
            check_transition(item.batch_id, batch["status"], status)
            values.update(status=status, completed_at=now)
            if failed_all:
                values["error"] = f"every item failed; last error: {error}"

        conn.execute(
            update(batches).where(batches.c.id == item.batch_id).values(values)
        )
        if status.terminal and status != batch["status"]:
            logger.info("batch %s %s", item.batch_id, status)
        return Outcome(state, joke_id, status)

    def release(self, item: ClaimedItem) -> None:
        """Give a held item back to pending, as on shutdown."""
        with self._writing(item.batch_id) as conn:
            released = conn.execute(
                update(items)
                .where(items.c.id == item.id, items.c.claim_token == item.token)
                .values(state=ItemState.PENDING, claim_token=None, started_at=None)
            ).rowcount
            if released:
                conn.execute(
                    update(batches)
                    .where(batches.c.id == item.batch_id)
                    .values(running_count=batches.c.running_count - 1)
                )
                status = BatchStatus(self._row(conn, item.batch_id)["status"])
                if status.terminal:
                    self._close_leftovers(conn, item.batch_id, status)

    def recover(self) -> int:
        """Return items left running by a stopped process to pending."""
        with write_transaction(self.engine) as conn:
            count = conn.execute(
                update(items)
                .where(items.c.state == ItemState.RUNNING)
                .values(state=ItemState.PENDING, claim_token=None, started_at=None)
            ).rowcount
            conn.execute(
                update(batches)
                .where(batches.c.running_count != 0)
                .values(running_count=0)
            )
            ended = conn.execute(
                select(batches.c.id, batches.c.status).where(
                    batches.c.status.in_([str(s) for s in TERMINAL]),
                    batches.c.id.in_(
                        select(items.c.batch_id).where(
                            items.c.state == ItemState.PENDING
                        )
                    ),
                )
            ).all()
            for batch_id, status in ended:
                self._close_leftovers(conn, batch_id, BatchStatus(status))

        if count:
            logger.warning("returned %d interrupted items to pending", count)
        return count

    def _close_leftovers(
        self, conn: Connection, batch_id: str, status: BatchStatus
    ) -> None:
        # A batch that ended while an item ran never claims again, so an item
        # given back to it would stay pending for ever: close it as its batch.
        now = utcnow()
        if status == BatchStatus.CANCELLED:
            state, counter, error = ItemState.CANCELLED, "cancelled_count", None
        else:
            state, counter = ItemState.FAILED, "failed_count"
            error = "the batch ended before this item ran"
        closed = conn.execute(
            update(items)
            .where(items.c.batch_id == batch_id, items.c.state == ItemState.PENDING)
            .values(state=state, error=error, finished_at=now)
        ).rowcount
        if closed:
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(
                    {
                        counter: batches.c[counter] + closed,
                        "updated_at": now,
                        "version": batches.c.version + 1,
                    }
                )
            )
            logger.info(
                "batch %s: %d interrupted items closed as %s", batch_id, closed, state
            )

    def active_ids(self) -> list[str]:
        """Unfinished batches, oldest first: the work to resume."""
        query = (
            select(batches.c.id)
            .where(batches.c.status.in_([str(s) for s in ACTIVE]))
            .order_by(*SORTS["oldest"])
        )
        with read_connection(self.engine) as conn:
            return list(conn.execute(query).scalars())

    # -- reads (request handlers and the dashboard) --------------------------

    def _row(self, conn: Connection, batch_id: str) -> dict[str, Any]:
        row = conn.execute(_BATCH_BY_ID, {"batch_id": batch_id}).first()
        if row is None:
            raise BatchNotFound(batch_id)

        return dict(row._mapping)

    def get(self, batch_id: str) -> dict[str, Any]:
        with read_connection(self.engine) as conn:
            return self._row(conn, batch_id)

    def version(self, batch_id: str) -> int:
        """The batch's version alone: what a poll compares with its cached answer."""
        if self.engine.dialect.name == "sqlite":
            return _fetch_version(self.engine, batch_id)

        with read_connection(self.engine) as conn:
            version = conn.execute(_VERSION_BY_ID, {"batch_id": batch_id}).scalar()
        if version is None:
            raise BatchNotFound(batch_id)

        return int(version)

    def get_many(self, batch_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not batch_ids:
            return []

        query = select(batches).where(batches.c.id.in_(list(batch_ids)))
        with read_connection(self.engine) as conn:
            found = {row.id: dict(row._mapping) for row in conn.execute(query)}

        return [found[i] for i in batch_ids if i in found]

    def list(
        self,
        statuses: Sequence[str] = (),
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        text: str | None = None,
        sort: str = "newest",
        after: tuple[Any, ...] | None = None,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """A page of batches after the sort key of the last row seen.

        ``after`` is ``(created_at, id)`` for the time sorts and
        ``(done, total, created_at, id)`` for ``progress``/``-progress``.
        """
        query = select(batches)
        if statuses:
            query = query.where(batches.c.status.in_(list(statuses)))
        if created_from is not None:
            query = query.where(batches.c.created_at >= created_from)
        if created_to is not None:
            query = query.where(batches.c.created_at < created_to)
        if text:
            query = query.where(
                batches.c.search_text.contains(text.casefold(), autoescape=True)
            )

        newest = batches.c.created_at.desc(), batches.c.id.desc()
        if sort == "oldest":
            order: tuple[Any, ...] = (batches.c.created_at.asc(), batches.c.id.asc())
        elif sort in ("progress", "-progress"):
            done = (
                batches.c.created_count
                + batches.c.duplicate_count
                + batches.c.failed_count
            )
            # Progress is done / total; ratios compare exactly as done * total'.
            ratio = (done * 1.0) / batches.c.total
            order = (ratio.asc() if sort == "progress" else ratio.desc(), *newest)
        else:
            order = newest

        if after is not None:
            query = query.where(_after(sort, after))

        query = query.order_by(*order).limit(limit)
        with read_connection(self.engine) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def summaries(self) -> builtins.list[dict[str, Any]]:
        """Every batch without its id lists: what the dashboard sorts and counts."""
        columns = [c for c in batches.c if c.name not in ("created_ids", "prompts")]
        query = select(*columns, batches.c.prompts).order_by(*SORTS["newest"])
        with read_connection(self.engine) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def versions(self, batch_ids: Sequence[str]) -> dict[str, int]:
        """Each batch's version, to tell which changed since the last look."""
        if not batch_ids:
            return {}

        query = select(batches.c.id, batches.c.version).where(
            batches.c.id.in_(list(batch_ids))
        )
        with read_connection(self.engine) as conn:
            return {row.id: row.version for row in conn.execute(query)}

    def items(self, batch_id: str) -> builtins.list[dict[str, Any]]:
        query = (
            select(items).where(items.c.batch_id == batch_id).order_by(items.c.position)
        )
        with read_connection(self.engine) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with read_connection(self.engine) as conn:
            return conn.execute(select(func.count()).select_from(batches)).scalar_one()


def _after(sort: str, after: tuple[Any, ...]) -> Any:
    """Rows strictly after the sort key ``after`` in the order of ``sort``."""
    at, last_id = after[-2:]
    if sort == "oldest":
        return or_(
            batches.c.created_at > at,
            and_(batches.c.created_at == at, batches.c.id > last_id),
        )

    older = or_(
        batches.c.created_at < at,
        and_(batches.c.created_at == at, batches.c.id < last_id),
    )
    if sort not in ("progress", "-progress"):
        return older

    done_then, total_then = after[:2]
    done = batches.c.created_count + batches.c.duplicate_count + batches.c.failed_count
    # Compared as cross products in 64 bits: 32-bit columns would overflow.
    mine = cast(done, BigInteger) * total_then
    theirs = cast(batches.c.total, BigInteger) * done_then
    further = mine > theirs if sort == "progress" else mine < theirs
    return or_(further, and_(mine == theirs, older))


__all__ = [
    "BatchNotFound",
    "BatchStore",
    "CapacityExceeded",
    "ClaimedItem",
    "IdempotencyConflict",
    "JokeStore",
    "Outcome",
    "SavedJoke",
    "content_hash",
    "normalise",
]
