"""The thread-pool generator with providers that tests control."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from db import BatchStatus, BatchStore
from generator import (
    JokeRequest,
    OfflineProvider,
    ProviderError,
    ProviderUnavailable,
    ThreadPoolBatchExecutor,
)
from tests.helpers import wait_for


class ScriptedProvider:
    """Answers from a function of the request and records every request."""

    name = "scripted"

    def __init__(self, answer: Callable[[JokeRequest], str]):
        self.answer = answer
        self.requests: list[JokeRequest] = []
        self._lock = threading.Lock()

    def generate(self, request: JokeRequest) -> str:
        with self._lock:
            self.requests.append(request)
        return self.answer(request)


def unique(request: JokeRequest) -> str:
    return f"{request.batch_id} #{request.position} try {request.attempt}"


@pytest.fixture
def store(engine: Engine) -> BatchStore:
    return BatchStore(engine)


@pytest.fixture
def run(store: BatchStore) -> Iterator[Callable[..., ThreadPoolBatchExecutor]]:
    executors: list[ThreadPoolBatchExecutor] = []

    def start(provider: object, **options: object) -> ThreadPoolBatchExecutor:
        settings = {"workers": 2, "retry_backoff": 0.0, **options}
        executor = ThreadPoolBatchExecutor(store, provider, **settings)  # type: ignore[arg-type]
        executors.append(executor)
        executor.start()
        return executor

    yield start
    for executor in executors:
        executor.shutdown(grace=5)


def finished(store: BatchStore, batch_id: str) -> dict | None:
    row = store.get(batch_id)
    return row if BatchStatus(row["status"]).terminal else None


def test_every_item_is_created_once(store: BatchStore, run: Callable) -> None:
    batch, _ = store.create([None] * 30, [])
    run(ScriptedProvider(unique), workers=4)

    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.COMPLETED
    assert row["created_count"] == 30
    assert len(set(row["created_ids"])) == 30
    assert store.jokes.count() == 30


def test_a_small_batch_is_not_held_back_by_a_large_one(
    store: BatchStore, run: Callable
) -> None:
    large, _ = store.create([None] * 400, [])
    small, _ = store.create([None] * 5, [])
    provider = ScriptedProvider(unique)
    run(provider, workers=2)

    wait_for(lambda: finished(store, small["id"]))
    order = [request.batch_id for request in provider.requests]
    last_small = max(i for i, b in enumerate(order) if b == small["id"])

    # Turns alternate, so the small batch is done within a couple of rounds,
    # long before the large one.
    assert last_small < 5 * 2 + 2 * 2
    assert store.get(large["id"])["created_count"] < 400


def test_a_batch_added_later_gets_turns_at_once(
    store: BatchStore, run: Callable
) -> None:
    gate = threading.Event()
    provider = ScriptedProvider(lambda r: (gate.wait(10), unique(r))[1])
    large, _ = store.create([None] * 200, [])
    executor = run(provider, workers=1)
    wait_for(lambda: provider.requests)

    small, _ = store.create([None] * 3, [])
    executor.submit(small["id"])
    gate.set()

    wait_for(lambda: finished(store, small["id"]))
    order = [request.batch_id for request in provider.requests]
    last_small = max(i for i, b in enumerate(order) if b == small["id"])
    assert last_small <= 2 * 3 + 1
    assert store.get(large["id"])["status"] == BatchStatus.IN_PROGRESS


def test_duplicates_are_retried_then_counted(store: BatchStore, run: Callable) -> None:
    batch, _ = store.create([None] * 4, [])
    provider = ScriptedProvider(lambda r: "The same joke every time.")
    run(provider, workers=1, max_attempts=3)

    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.COMPLETED
    assert (row["created_count"], row["duplicate_count"]) == (1, 3)
    assert len(provider.requests) == 1 + 3 * 3
    attempts = sorted(item["attempts"] for item in store.items(batch["id"]))
    assert attempts == [1, 3, 3, 3]
    assert store.jokes.count() == 1


def test_provider_errors_are_retried_with_backoff(
    store: BatchStore, run: Callable
) -> None:
    calls: dict[int, int] = {}

    def flaky(request: JokeRequest) -> str:
        calls[request.position] = calls.get(request.position, 0) + 1
        if calls[request.position] <= 2:
            raise ProviderError("temporarily out of jokes")
        return unique(request)

    batch, _ = store.create([None] * 3, [])
    run(ScriptedProvider(flaky), provider_retries=2)

    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.COMPLETED
    assert row["created_count"] == 3
    assert [item["attempts"] for item in store.items(batch["id"])] == [3, 3, 3]


def test_an_item_fails_after_its_retries(store: BatchStore, run: Callable) -> None:
    def broken_for_odd(request: JokeRequest) -> str:
        if request.position % 2:
            raise ProviderError("no joke for odd positions")
        return unique(request)

    batch, _ = store.create([None] * 4, [])
    run(ScriptedProvider(broken_for_odd), provider_retries=1)

    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.COMPLETED
    assert (row["created_count"], row["failed_count"]) == (2, 2)
    failed = [item for item in store.items(batch["id"]) if item["state"] == "failed"]
    assert all("no joke for odd positions" in item["error"] for item in failed)
    assert all(item["attempts"] == 2 for item in failed)


def test_an_exception_in_a_task_is_logged_and_recorded(
    store: BatchStore, run: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    def buggy(request: JokeRequest) -> str:
        raise ZeroDivisionError("division by zero")

    batch, _ = store.create([None] * 2, [])
    with caplog.at_level(logging.ERROR, logger="generator.executor"):
        run(ScriptedProvider(buggy))
        row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.FAILED
    assert "ZeroDivisionError" in row["error"]
    assert all(
        "ZeroDivisionError" in item["error"] for item in store.items(batch["id"])
    )
    assert any(batch["id"] in record.getMessage() for record in caplog.records)
    assert any(record.exc_info for record in caplog.records)


def test_a_provider_that_cannot_work_fails_the_batch(
    store: BatchStore, run: Callable
) -> None:
    def unavailable(request: JokeRequest) -> str:
        raise ProviderUnavailable("no credentials for the provider")

    batch, _ = store.create([None] * 20, [])
    run(ScriptedProvider(unavailable), workers=1)

    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["status"] == BatchStatus.FAILED
    assert "no credentials" in row["error"]
    assert row["failed_count"] == 20
    assert row["completed_at"] is not None


def test_the_executor_resumes_unfinished_batches_on_start(
    store: BatchStore, run: Callable
) -> None:
    batch, _ = store.create([None] * 6, [])
    held = store.claim(batch["id"])
    assert held is not None  # left running by a process that stopped

    run(ScriptedProvider(unique))
    row = wait_for(lambda: finished(store, batch["id"]))

    assert row["created_count"] == 6
    assert sorted(i["state"] for i in store.items(batch["id"])) == ["created"] * 6


def test_items_running_past_the_grace_go_back_to_pending(
    store: BatchStore, run: Callable
) -> None:
    # A provider stuck in a call that no stop signal interrupts.
    release = threading.Event()
    provider = ScriptedProvider(lambda r: (release.wait(30), unique(r))[1])
    batch, _ = store.create([None] * 4, [])
    executor = run(provider, workers=2)
    wait_for(lambda: len(provider.requests) == 2)

    executor.shutdown(grace=0.05)
    release.set()

    # The late answers found their hold gone: nothing stored, all pending.
    wait_for(
        lambda: (
            not any(t.name.startswith("batch-worker") for t in threading.enumerate())
        )
    )
    states = [item["state"] for item in store.items(batch["id"])]
    assert states == ["pending"] * 4
    assert store.jokes.count() == 0
    assert store.get(batch["id"])["running_count"] == 0


def test_shutdown_is_idempotent(store: BatchStore, run: Callable) -> None:
    executor = run(ScriptedProvider(unique))

    executor.shutdown(grace=1)
    executor.shutdown(grace=1)

    assert executor.stopping
    assert not any(t.name.startswith("batch-") for t in threading.enumerate())


def test_the_offline_provider_follows_prompts_and_its_seed() -> None:
    provider = OfflineProvider(seed=3)
    request = JokeRequest("batch_a", 0, "Tell me a joke about cats", 1)

    text = provider.generate(request)

    assert text == OfflineProvider(seed=3).generate(request)
    assert "cats" in text.casefold()
    plain = provider.generate(JokeRequest("batch_a", 0, None, 1))
    assert plain in provider.corpus


def test_the_offline_provider_picks_corpus_jokes_matching_the_prompt() -> None:
    provider = OfflineProvider(seed=1)
    texts = {
        provider.generate(JokeRequest("batch_b", n, "recursion", 1)) for n in range(40)
    }

    assert any(text in provider.corpus for text in texts)
    assert all("recursion" in text.casefold() for text in texts)
