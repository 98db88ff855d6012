"""Batch and item states, and the one table of legal batch transitions."""

from __future__ import annotations

from enum import StrEnum


class BatchStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


class ItemState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    CREATED = "created"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED})
ACTIVE = frozenset({BatchStatus.QUEUED, BatchStatus.IN_PROGRESS})

TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    BatchStatus.QUEUED: frozenset(
        {
            BatchStatus.IN_PROGRESS,
            BatchStatus.COMPLETED,
            BatchStatus.FAILED,
            BatchStatus.CANCELLED,
        }
    ),
    BatchStatus.IN_PROGRESS: frozenset(
        {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED}
    ),
    BatchStatus.COMPLETED: frozenset(),
    BatchStatus.FAILED: frozenset(),
    BatchStatus.CANCELLED: frozenset(),
}


class IllegalTransition(Exception):
    """A batch was asked to move to a status its current one does not allow."""

    def __init__(self, batch_id: str, current: BatchStatus, target: BatchStatus):
        super().__init__(f"batch {batch_id} is {current}; cannot become {target}")
        self.batch_id = batch_id
        self.current = current
        self.target = target


def check_transition(batch_id: str, current: str, target: BatchStatus) -> None:
    if target not in TRANSITIONS[BatchStatus(current)]:
        raise IllegalTransition(batch_id, BatchStatus(current), target)
