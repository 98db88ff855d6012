"""Batches in every state, made through the store the way workers make them."""

from __future__ import annotations

from typing import Any

from db import ItemState

JOKES = (
    "I told my computer a joke about UDP; I am not sure it got it.",
    "There are 10 kinds of people: those who read binary and those who do not.",
    "A SQL query walks into a bar, walks up to two tables and asks: may I join you?",
    "Debugging: removing the needles from the haystack you put them in.",
    "Why do programmers prefer dark mode? Because light attracts bugs.",
    "My code never has bugs; it just develops random features.",
    "The cloud is just someone else's computer having a bad day.",
    "I would tell you a joke about recursion, but I would tell you a joke about it.",
)


def finish(service: Any, batch_id: str, count: int, tag: str) -> list[str]:
    """Finish ``count`` items of ``batch_id`` with unique jokes."""
    made = []
    for index in range(count):
        item = service.batches.claim(batch_id)
        assert item is not None
        text = f"{JOKES[index % len(JOKES)]} ({tag} #{index})"
        outcome = service.batches.record_joke(item, text, "offline", 1 + index % 3)
        assert outcome is not None and outcome.joke_id
        made.append(outcome.joke_id)
    return made


def make_mixed(service: Any) -> dict[str, str]:
    """One batch per status; returns status -> batch id."""
    made: dict[str, str] = {}

    completed = service.create({"batchSize": 8, "prompts": ["cats", "space"]})
    finish(service, completed.batch["id"], 8, "done")
    made["completed"] = completed.batch["id"]

    failed = service.create({"batchSize": 3, "prompts": ["weather"]})
    failed_id = failed.batch["id"]
    for _ in range(3):
        item = service.batches.claim(failed_id)
        service.batches.finish(item, ItemState.FAILED, 4, "ProviderError: timed out")
    made["failed"] = failed_id

    cancelled = service.create({"batchSize": 10, "prompts": ["databases"]})
    finish(service, cancelled.batch["id"], 3, "cancel")
    service.cancel(cancelled.batch["id"])
    made["cancelled"] = cancelled.batch["id"]

    running = service.create({"batchSize": 30, "prompts": ["computers", "coffee"]})
    finish(service, running.batch["id"], 24, "run")
    made["in_progress"] = running.batch["id"]

    halfway = service.create({"batchSize": 12, "prompts": ["music"]})
    finish(service, halfway.batch["id"], 5, "half")
    made["in_progress_2"] = halfway.batch["id"]

    queued = service.create({"batchSize": 5, "prompts": ["<b>not bold</b>"]})
    made["queued"] = queued.batch["id"]
    return made
