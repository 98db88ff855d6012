"""Shared test helpers: polling with a deadline and a real server process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

TERMINAL = {"completed", "failed", "cancelled"}
# The seed's status fields: their names and meanings never change.
SEED_FIELDS = frozenset(
    {
        "batchId",
        "total",
        "remaining",
        "createdIds",
        "status",
        "startedAt",
        "completedAt",
        "error",
    }
)


def wait_for(
    probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.02
) -> T:
    """Call ``probe`` until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def check_invariants(status: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """The invariants of PRODUCT.md between two polls of one batch."""
    assert status["total"] == (
        status["remaining"]
        + len(status["createdIds"])
        + status["duplicates"]
        + status["failed"]
    ), status
    assert len(set(status["createdIds"])) == len(status["createdIds"])
    assert (status["completedAt"] is not None) == (status["status"] in TERMINAL)
    if previous is not None:
        assert status["remaining"] <= previous["remaining"]
        ids = status["createdIds"]
        assert ids[: len(previous["createdIds"])] == previous["createdIds"]
        if previous["status"] in TERMINAL:
            assert status["status"] == previous["status"]


@dataclass
class ServerProcess:
    """A ``batch-dashboard serve`` child process and what it has logged."""

    process: subprocess.Popen[str]
    url: str
    log: list[str] = field(default_factory=list)

    def stop(self, sig: int | None = None, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
        return self.process.wait(timeout)


_URL = re.compile(r"Batch Status Dashboard on (http://\S+?)/?$")


@contextmanager
def serve(
    database: Path | None, env: dict[str, str] | None = None, *extra: str
) -> Iterator[ServerProcess]:
    """Start the real server on a free port with ``database``; stop it after.

    With no database the server uses its default, a file in the instance folder.
    """
    environ = {
        **os.environ,
        "BATCH_DASHBOARD_PROVIDER_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "batch_dashboard",
        "serve",
        "--port",
        "0",
        *(["--database", f"sqlite:///{database}"] if database else []),
        *extra,
    ]
    process = subprocess.Popen(
        command,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = threading.Event()
    server = ServerProcess(process, "")

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.log.append(line.rstrip("\n"))
            match = _URL.search(line.strip())
            if match and not started.is_set():
                server.url = match.group(1)
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not started.wait(60) or not server.url:
            raise AssertionError("server did not start:\n" + "\n".join(server.log))
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        reader.join(10)
