"""What the benchmarks share: quick mode, server processes and load generators."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
_URL = re.compile(r" on (http://127\.0\.0\.1:\d+)/?\s*$")


def quick() -> bool:
    """True when ``BENCH_QUICK`` asks for a run that only proves the scripts."""
    return os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes"}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio_line(name: str, value: float, target: str | None = None) -> str:
    """One ``ratio`` line: the figures the smoke test and readers look for."""
    line = (
        f"ratio {name}: {value:.2f}" if value >= 0.1 else f"ratio {name}: {value:.3f}"
    )
    return f"{line} (target {target})" if target else line


@dataclass
class Process:
    """A server child process on loopback and the lines it printed."""

    process: subprocess.Popen[str]
    url: str = ""
    log: list[str] = field(default_factory=list)


@contextmanager
def server_process(command: Sequence[str], env: dict[str, str]) -> Iterator[Process]:
    """Start ``command``, wait for its ``… on http://127.0.0.1:PORT/`` line."""
    process = subprocess.Popen(
        list(command),
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = threading.Event()
    server = Process(process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.log.append(line.rstrip("\n"))
            match = _URL.search(line)
            if match and not started.is_set():
                server.url = match.group(1)
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not started.wait(60) or not server.url:
            raise RuntimeError("server did not start:\n" + "\n".join(server.log[-20:]))
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


# -- load generators ---------------------------------------------------------


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def _check_loopback(url: str) -> None:
    if urlsplit(url).hostname != LOOPBACK:
        raise ValueError(f"benchmarks load {LOOPBACK} only, not {url}")


_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_BAD = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def wrk_rps(url: str, connections: int, seconds: float) -> float:
    """Requests per second from ``wrk`` (keep-alive, one client thread)."""
    _check_loopback(url)
    duration = max(1, round(seconds))
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    bad = _WRK_BAD.search(result.stdout)
    if bad:
        raise RuntimeError(f"{bad.group(1)} responses were not 2xx from {url}")

    match = _WRK_RPS.search(result.stdout)
    if match is None:
        raise RuntimeError(f"no rate in wrk's output:\n{result.stdout}")

    return float(match.group(1))


def python_rps(
    url: str, connections: int, seconds: float, max_requests: int = 200_000
) -> float:
    """Requests per second from threads on keep-alive ``http.client`` connections.

    Bounded both ways: at most ``max_requests`` and at most ``seconds``.
    """
    _check_loopback(url)
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    per_thread = max(1, max_requests // connections)
    counts = [0] * connections
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    def load(index: int) -> None:
        conn = http.client.HTTPConnection(LOOPBACK, parts.port, timeout=5)
        try:
            for _ in range(per_thread):
                if time.monotonic() > deadline:
                    return
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(f"HTTP {response.status}")
                    return
                counts[index] += 1
        except OSError as exc:
            errors.append(str(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=load, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - started
    if errors:
        raise RuntimeError(f"load on {url} failed: {errors[0]}")

    return sum(counts) / elapsed


def load_rps(url: str, connections: int, seconds: float) -> float:
    """The best load generator here: wrk when installed, else Python threads."""
    if have_wrk():
        return wrk_rps(url, connections, seconds)

    return python_rps(url, connections, seconds)


def load_generator_name() -> str:
    return "wrk (1 thread)" if have_wrk() else "Python http.client threads"
