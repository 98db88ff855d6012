"""Joke providers: one small interface, an offline corpus behind it today."""

from __future__ import annotations

import logging
import random
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

import pyjokes

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """One request for a joke failed; asking again may work."""


class ProviderUnavailable(ProviderError):
    """The provider cannot work at all: the batch it serves fails."""


@dataclass(frozen=True)
class JokeRequest:
    batch_id: str
    position: int
    prompt: str | None
    attempt: int


class Provider(Protocol):
    name: str

    def generate(self, request: JokeRequest) -> str:
        """Return one joke's text, or raise ``ProviderError``."""
        ...


_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP_WORDS = frozenset(
    "the and for with about that this from into your you are was were has have "
    "tell joke jokes funny some more make give write one two please".split()
)

# Shapes the offline provider fits a prompt's topic into when the corpus has
# nothing, or nothing new, about it.
_SHAPES = (
    "Why did the {topic} enrol in a programming course? It wanted better class.",
    "My {topic} keeps throwing exceptions. I told it to try harder, then catch up.",
    "There are 10 kinds of {topic}: those that understand binary and those that don't.",
    "A {topic} walks into a bar and asks for a beer, 0 beers, 99999 beers "
    "and -1 beers. The QA team approves.",
    "I asked my {topic} for a REST API. It took the afternoon off.",
    "How many {topic}s does it take to change a light bulb? None, that's a "
    "hardware problem.",
    "The {topic} never argues with the compiler: it knows who has the last word.",
    "My {topic} and I broke up over tabs and spaces. We still share a repo.",
    "Knock, knock. Who's there? A {topic}. A {topic} who? A {topic} that "
    "forgot its own cache.",
    "The {topic} went to therapy for its commitment issues: it only ever "
    "pushed to main.",
    "I gave my {topic} a semicolon; it said it prefers Python.",
    "Why was the {topic} so calm in production? It had already seen every "
    "edge case in staging.",
)


def _topic_words(prompt: str) -> list[str]:
    words = [w.casefold() for w in _WORD.findall(prompt)]
    return [w for w in words if w not in _STOP_WORDS]


class OfflineProvider:
    """Jokes from the pyjokes corpus, picked and shaped by the item's prompt.

    Each item gets its own random stream from the seed, the batch, the
    position and the attempt, so a seeded run is repeatable whatever the
    thread order.
    """

    name = "offline"

    def __init__(
        self,
        seed: int | None = None,
        delay: float = 0.0,
        stop: threading.Event | None = None,
    ):
        self.seed = secrets.randbits(64) if seed is None else seed
        self.delay = delay
        self._pause = stop or threading.Event()
        self.corpus = tuple(pyjokes.get_jokes(language="en", category="all"))
        self._words = [set(_topic_words(joke)) for joke in self.corpus]

    def generate(self, request: JokeRequest) -> str:
        if self.delay:
            self._pause.wait(self.delay)

        rng = random.Random(
            f"{self.seed}:{request.batch_id}:{request.position}:{request.attempt}"
        )
        if not request.prompt:
            return rng.choice(self.corpus)

        words = _topic_words(request.prompt)
        matches = [
            joke
            for joke, joke_words in zip(self.corpus, self._words, strict=True)
            if joke_words.intersection(words)
        ]
        topic = " ".join(words[:3]) if words else request.prompt.strip()[:40]
        shaped = [shape.format(topic=topic) for shape in _SHAPES]
        return rng.choice(matches + shaped)


def make_provider(
    name: str,
    seed: int | None = None,
    delay: float = 0.0,
    stop: threading.Event | None = None,
) -> Provider:
    """The provider a setting names."""
    if name == "offline":
        return OfflineProvider(seed=seed, delay=delay, stop=stop)

    raise ValueError(f"unknown provider {name!r}; known: offline")
