"""Serialised status answers, each good for as long as its batch's version.

A poll of an unchanged batch then costs one integer read instead of reading,
shaping and serialising the whole row. The version comes from the store at
every poll, so the cache is correct whichever process changed the batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_ENTRIES = 4096


class StatusCache:
    """A bounded map of batch id to (version, body); least recently used goes."""

    def __init__(self, entries: int = DEFAULT_ENTRIES):
        self.entries = entries
        self._bodies: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, batch_id: str, version: int) -> bytes | None:
        with self._lock:
            cached = self._bodies.get(batch_id)
            if cached is None or cached[0] != version:
                return None

            self._bodies.move_to_end(batch_id)
            return cached[1]

    def put(self, batch_id: str, version: int, body: bytes) -> None:
        with self._lock:
            current = self._bodies.get(batch_id)
            # A slower request must not replace a newer answer with an older one.
            if current is not None and current[0] > version:
                return

            self._bodies[batch_id] = (version, body)
            self._bodies.move_to_end(batch_id)
            while len(self._bodies) > self.entries:
                self._bodies.popitem(last=False)
