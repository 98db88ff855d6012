"""The executor: a thread pool the app owns that works through batch items.

Threads and what they may change:

- the dispatcher thread claims items, one batch after another in turn, so a
  large batch cannot hold a small one back;
- worker threads ask the provider for jokes and finish the items they hold
  (the store writes each item and its batch's counters together);
- request threads only submit batch ids and read.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Protocol

from db.states import ItemState
from db.stores import BatchStore, ClaimedItem
from generator.providers import (
    JokeRequest,
    Provider,
    ProviderError,
    ProviderUnavailable,
)

logger = logging.getLogger(__name__)

# Pause before the dispatcher tries the store again after an error.
STORE_RETRY_SECONDS = 1.0


class Executor(Protocol):
    def start(self) -> None:
        """Begin work, resuming every unfinished batch in the store."""

    def submit(self, batch_id: str) -> None:
        """Schedule the pending items of a batch."""

    def shutdown(self, grace: float | None = None) -> None:
        """Stop taking items; let running ones finish within ``grace``."""


class ThreadPoolBatchExecutor:
    """Runs items on a bounded pool of named threads."""

    def __init__(
        self,
        store: BatchStore,
        provider: Provider,
        workers: int = 4,
        max_attempts: int = 5,
        provider_retries: int = 3,
        retry_backoff: float = 0.2,
        shutdown_grace: float = 10.0,
        stop: threading.Event | None = None,
        on_change: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.provider = provider
        self.workers = workers
        self.max_attempts = max_attempts
        self.provider_retries = provider_retries
        self.retry_backoff = retry_backoff
        self.shutdown_grace = shutdown_grace
        self.on_change = on_change

        self._stopping = stop or threading.Event()
        self._cond = threading.Condition()
        self._ready: deque[str] = deque()
        self._scheduled: set[str] = set()
        self._free = workers
        self._held: dict[int, tuple[ClaimedItem, Future[None]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._dispatcher: threading.Thread | None = None
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = False

    # -- life cycle -----------------------------------------------------------

    def start(self) -> None:
        with self._state_lock:
            if self._started:
                return
            self._started = True

        self.store.recover()
        self._pool = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="batch-worker"
        )
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="batch-dispatcher", daemon=True
        )
        self._dispatcher.start()
        resumed = self.store.active_ids()
        for batch_id in resumed:
            self.submit(batch_id)

        logger.info(
            "executor started with %d workers; %d batches to resume",
            self.workers,
            len(resumed),
        )

    def submit(self, batch_id: str) -> None:
        with self._cond:
            if self._stopping.is_set() or batch_id in self._scheduled:
                return

            self._scheduled.add(batch_id)
            self._ready.append(batch_id)
            self._cond.notify_all()

    def shutdown(self, grace: float | None = None) -> None:
        """Stop; items still running after ``grace`` go back to pending."""
        with self._state_lock:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True

        grace = self.shutdown_grace if grace is None else grace
        with self._cond:
            self._stopping.set()
            self._cond.notify_all()

        # The dispatcher may be claiming one last item: join it before taking
        # the list of running items, so that item gets the grace too.
        if self._dispatcher is not None:
            self._dispatcher.join()
        with self._cond:
            running = [future for _, future in self._held.values()]

        logger.info(
            "executor stopping; %d items running, %.1fs grace", len(running), grace
        )
        _, still_running = wait(running, timeout=grace)

        with self._cond:
            leftover = [item for item, _ in self._held.values()]
        for item in leftover:
            self.store.release(item)
            logger.warning(
                "batch %s item %d returned to pending at shutdown",
                item.batch_id,
                item.position,
            )

        # Join the workers unless one is stuck in a provider past the grace.
        assert self._pool is not None
        self._pool.shutdown(wait=not still_running, cancel_futures=True)
        logger.info("executor stopped")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def idle(self) -> bool:
        """True when nothing is scheduled or running."""
        with self._cond:
            return not self._ready and not self._held

    # -- dispatching ----------------------------------------------------------

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while not self._stopping.is_set() and not (self._ready and self._free):
                    self._cond.wait()
                if self._stopping.is_set():
                    return

                batch_id = self._ready.popleft()
                self._free -= 1

            try:
                item = self.store.claim(batch_id)
            except Exception:
                logger.exception("batch %s: claiming an item failed", batch_id)
                with self._cond:
                    self._free += 1
                    self._ready.append(batch_id)
                    self._cond.wait(STORE_RETRY_SECONDS)
                continue

            with self._cond:
                if item is None:
                    self._free += 1
                    self._scheduled.discard(batch_id)
                    continue

                # Back of the line: every other batch gets an item first.
                self._ready.append(batch_id)
                assert self._pool is not None
                future = self._pool.submit(self._run, item)
                self._held[item.id] = (item, future)

            self._changed(batch_id)

    def _run(self, item: ClaimedItem) -> None:
        try:
            self._process(item)
        except Exception as exc:
            logger.exception(
                "batch %s item %d: unexpected error", item.batch_id, item.position
            )
            try:
                self.store.finish(
                    item, ItemState.FAILED, item.attempts + 1, _describe(exc)
                )
            except Exception:
                logger.exception(
                    "batch %s item %d: could not record the error; it stays "
                    "running until the next start",
                    item.batch_id,
                    item.position,
                )
        finally:
            with self._cond:
                self._held.pop(item.id, None)
                self._free += 1
                self._cond.notify_all()
            self._changed(item.batch_id)

    # -- one item -------------------------------------------------------------

    def _process(self, item: ClaimedItem) -> None:
        attempts = item.attempts
        duplicates = 0
        errors = 0
        while True:
            if self._stopping.is_set():
                self.store.release(item)
                return

            attempts += 1
            request = JokeRequest(item.batch_id, item.position, item.prompt, attempts)
            try:
                text = self.provider.generate(request)
            except ProviderUnavailable as exc:
                self.store.finish(item, ItemState.FAILED, attempts, _describe(exc))
                self.store.fail(item.batch_id, f"provider unavailable: {exc}")
                return
            except ProviderError as exc:
                errors += 1
                if errors > self.provider_retries:
                    self.store.finish(item, ItemState.FAILED, attempts, _describe(exc))
                    return

                delay = self.retry_backoff * 2 ** (errors - 1)
                logger.warning(
                    "batch %s item %d: provider error (%s); retry %d in %.2fs",
                    item.batch_id,
                    item.position,
                    exc,
                    errors,
                    delay,
                )
                if self._stopping.wait(delay):
                    self.store.release(item)
                    return
                continue

            if (
                self.store.record_joke(item, text, self.provider.name, attempts)
                is not None
            ):
                return

            duplicates += 1
            if duplicates >= self.max_attempts:
                self.store.finish(item, ItemState.DUPLICATE, attempts)
                return

    def _changed(self, batch_id: str) -> None:
        if self.on_change is not None:
            try:
                self.on_change(batch_id)
            except Exception:
                logger.exception("batch %s: change listener failed", batch_id)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
