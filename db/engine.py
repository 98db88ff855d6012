"""The engine: SQLite tuned for a threaded server, any other URL as given."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from db.models import Base

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000

# One writer at a time per SQLite engine, queued in Python: a BEGIN IMMEDIATE
# that finds the lock taken makes SQLite's busy handler sleep for whole
# milliseconds, which costs more than the write. Other processes still meet
# the busy timeout.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Writers take the write lock up front: a deferred BEGIN that reads and
    # then writes can fail with "database is locked" despite the timeout.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_store_engine(url: str, pool_size: int = 16) -> Engine:
    """Create the engine for ``url`` and the schema if it is missing."""
    parsed = make_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("the store needs a SQLite file, not an in-memory one")
        options["connect_args"] = {"check_same_thread": False, "timeout": 10}

    # A SQLite file cannot drop a connection, so pinging one at every checkout
    # only costs a statement; servers get the ping.
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=parsed.get_backend_name() != "sqlite",
        **options,
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        _WRITE_LOCKS[engine] = threading.RLock()

    Base.metadata.create_all(engine)
    logger.info("store ready at %s", parsed.render_as_string(hide_password=True))
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A short write transaction that holds the write lock from its start."""
    lock: AbstractContextManager[Any] = _WRITE_LOCKS.get(engine) or nullcontext()
    with lock, engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads; its snapshot ends when the block does."""
    with engine.connect() as conn:
        yield conn
