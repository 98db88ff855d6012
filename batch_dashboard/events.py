"""An in-process change feed: the executor publishes batch ids, streams wait.

Every change gets the next sequence number. A reader remembers the last number
it saw and asks for the batch ids changed since; when it fell so far behind
that the ring no longer holds its place, it is told to re-read everything.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

RING_SIZE = 4096


@dataclass(frozen=True)
class Changes:
    """What changed after a sequence number; ``ids`` is None when too far back."""

    seq: int
    ids: frozenset[str] | None


class ChangeFeed:
    """Batch changes published by worker threads, waited on by stream threads."""

    def __init__(self, ring_size: int = RING_SIZE):
        self._cond = threading.Condition()
        self._ring: deque[tuple[int, str]] = deque(maxlen=ring_size)
        self._seq = 0
        self._streams = 0

    @property
    def seq(self) -> int:
        with self._cond:
            return self._seq

    def publish(self, batch_id: str) -> None:
        """Record that ``batch_id`` changed and wake every waiting stream."""
        with self._cond:
            self._seq += 1
            self._ring.append((self._seq, batch_id))
            self._cond.notify_all()

    def wait(self, after: int, timeout: float) -> Changes:
        """Block until something changed after ``after`` or ``timeout`` passed."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after, timeout)
            return self._since(after)

    def _since(self, after: int) -> Changes:
        if self._seq == after:
            return Changes(after, frozenset())

        oldest = self._ring[0][0] if self._ring else self._seq + 1
        if after + 1 < oldest:
            return Changes(self._seq, None)

        ids = frozenset(batch_id for seq, batch_id in self._ring if seq > after)
        return Changes(self._seq, ids)

    # -- open streams, bounded ----------------------------------------------

    def open_stream(self, limit: int) -> bool:
        """Take a stream slot unless ``limit`` are open; say whether it was taken."""
        with self._cond:
            if self._streams >= limit:
                return False
            self._streams += 1
            return True

    def close_stream(self) -> None:
        with self._cond:
            self._streams = max(0, self._streams - 1)

    @property
    def open_streams(self) -> int:
        with self._cond:
            return self._streams
