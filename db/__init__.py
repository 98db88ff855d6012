"""Persistence: the schema, the engine and the joke and batch stores."""

from db.engine import create_store_engine
from db.states import BatchStatus, ItemState
from db.stores import BatchStore, JokeStore

__all__ = [
    "BatchStatus",
    "BatchStore",
    "ItemState",
    "JokeStore",
    "create_store_engine",
]
