"""The Python client and the submit/status/cancel commands, against the real
``batch-dashboard serve`` process."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batch_dashboard.cli import EXIT_BATCH_FAILED, EXIT_ERROR, EXIT_TIMEOUT, _Progress
from batch_dashboard.client import (
    ApiError,
    Client,
    Unreachable,
    backoff_delay,
    parse_retry_after,
)
from tests.helpers import ServerProcess, serve

pytestmark = pytest.mark.server

TOKEN = "client-test-token-42"


class VirtualTime:
    """A clock that moves only when the client sleeps, to read its waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("client") / "store.sqlite3"
    with serve(database, {"BATCH_DASHBOARD_PROVIDER_DELAY": "0.05"}) as process:
        yield process


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "BATCH_DASHBOARD_API_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "batch_dashboard", *args],
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# -- the client ---------------------------------------------------------------


def test_submit_wait_and_read_back_every_joke(server: ServerProcess) -> None:
    client = Client(server.url)

    created = client.submit(6, ["robots"])
    final = client.wait(created["batchId"], timeout=60)

    assert final["status"] == "completed"
    assert final["createdIds"] == client.status(created["batchId"])["createdIds"]
    assert len(final["createdIds"]) + final["duplicates"] + final["failed"] == 6
    for joke_id in final["createdIds"]:
        assert client.joke(joke_id)["batchId"] == created["batchId"]
    listed = client.list(status="completed", q="robots")["batches"]
    assert created["batchId"] in [batch["batchId"] for batch in listed]


def test_wait_polls_every_two_to_three_seconds(server: ServerProcess) -> None:
    time = VirtualTime()
    client = Client(server.url, sleep=time.sleep, clock=time.clock)
    batch_id = client.submit(30)["batchId"]
    seen: list[dict[str, Any]] = []

    final = client.wait(batch_id, timeout=10_000, on_status=seen.append)

    assert final["status"] == "completed"
    assert len(time.sleeps) == len(seen) - 1
    assert all(2.0 <= pause <= 3.0 for pause in time.sleeps), time.sleeps
    assert seen[-1] == final


def test_wait_gives_up_at_the_timeout(server: ServerProcess) -> None:
    time = VirtualTime()
    client = Client(server.url, sleep=time.sleep, clock=time.clock)
    batch_id = client.submit(200)["batchId"]

    with pytest.raises(Exception) as caught:
        client.wait(batch_id, timeout=7)

    assert type(caught.value).__name__ == "WaitTimeout"
    assert sum(time.sleeps) == pytest.approx(7)
    client.cancel(batch_id)


def test_a_submit_retry_never_makes_a_second_batch(server: ServerProcess) -> None:
    client = Client(server.url)

    first = client.submit(2, idempotency_key="retry-me")
    again = client.submit(2, idempotency_key="retry-me")

    assert first["batchId"] == again["batchId"]
    with pytest.raises(ApiError) as caught:
        client.submit(3, idempotency_key="retry-me")
    assert caught.value.status == 422


def test_api_errors_carry_the_error_shape(server: ServerProcess) -> None:
    client = Client(server.url)

    with pytest.raises(ApiError) as caught:
        client.status("batch_0000000000000000")

    assert caught.value.status == 404
    assert caught.value.code == "not_found"
    assert caught.value.field == "batchId"
    assert caught.value.request_id


def test_429_is_retried_after_retry_after(tmp_path: Path) -> None:
    env = {
        "BATCH_DASHBOARD_MAX_ACTIVE_BATCHES": "1",
        "BATCH_DASHBOARD_PROVIDER_DELAY": "0.5",
    }
    with serve(tmp_path / "full.sqlite3", env) as full:
        time = VirtualTime()
        client = Client(full.url, sleep=time.sleep, clock=time.clock)
        busy = client.submit(100)["batchId"]

        with pytest.raises(ApiError) as caught:
            client.submit(1, retry_for=12)

        assert caught.value.status == 429
        assert caught.value.retry_after == 5
        assert time.sleeps == [5.0, 5.0, 2.0]
        assert [b["batchId"] for b in client.list()["batches"]] == [busy]


def test_no_answer_is_retried_with_growing_jittered_backoff() -> None:
    time = VirtualTime()
    client = Client(
        "http://127.0.0.1:9",
        timeout=2,
        sleep=time.sleep,
        clock=time.clock,
        rng=random.Random(3),
    )

    with pytest.raises(Unreachable):
        client.submit(1, retry_for=60)

    assert len(time.sleeps) >= 5
    for attempt, pause in enumerate(time.sleeps[:-1]):
        assert 0 <= pause <= min(30, 2**attempt)
    assert len(set(time.sleeps)) == len(time.sleeps)
    assert sum(time.sleeps) == pytest.approx(60)


def test_backoff_and_retry_after_parsing() -> None:
    rng = random.Random(1)
    caps = [backoff_delay(n, rng, base=1, cap=8) for n in range(10)]

    assert all(0 <= d <= min(8, 2**n) for n, d in enumerate(caps))
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- the commands ---------------------------------------------------------------


def test_submit_wait_json_exits_zero_when_completed(server: ServerProcess) -> None:
    result = cli("submit", "--size", "4", "--wait", "--json", "--url", server.url)

    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout)
    assert final["status"] == "completed"
    assert final["total"] == 4
    # Not a terminal: plain progress lines on stderr, no bar.
    assert final["batchId"] in result.stderr
    assert "\r" not in result.stderr


def test_submit_without_wait_prints_the_id(server: ServerProcess) -> None:
    result = cli(
        "submit", "--size", "1", "--prompt", "a", "--prompt", "b", "--url", server.url
    )

    assert result.returncode == 0, result.stderr
    batch_id, status = result.stdout.split()
    assert batch_id.startswith("batch_")
    assert Client(server.url).status(batch_id)["prompts"] == ["a", "b"]


def test_status_and_cancel_commands(server: ServerProcess) -> None:
    batch_id = Client(server.url).submit(300)["batchId"]

    status = cli("status", batch_id, "--json", "--url", server.url)
    cancel = cli("cancel", batch_id, "--json", "--url", server.url)
    again = cli("cancel", batch_id, "--url", server.url)

    assert status.returncode == 0
    assert json.loads(status.stdout)["batchId"] == batch_id
    assert cancel.returncode == 0
    assert json.loads(cancel.stdout)["status"] == "cancelled"
    assert again.returncode == 0
    assert "cancelled" in again.stdout


def test_waiting_on_a_batch_that_gets_cancelled_exits_non_zero(
    server: ServerProcess,
) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batch_dashboard",
            "submit",
            "--size",
            "300",
            "--wait",
            "--url",
            server.url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        batch_id = process.stdout.readline().split()[0]
        Client(server.url).cancel(batch_id)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

    assert process.returncode == EXIT_BATCH_FAILED
    assert f"{batch_id} cancelled" in out


def test_a_wait_that_times_out_exits_non_zero(server: ServerProcess) -> None:
    result = cli(
        "submit",
        "--size",
        "300",
        "--wait",
        "--timeout",
        "1",
        "--json",
        "--url",
        server.url,
    )

    assert result.returncode == EXIT_TIMEOUT
    last = json.loads(result.stdout)
    assert last["timedOut"] is True
    Client(server.url).cancel(last["batchId"])


def test_errors_exit_non_zero_with_the_message(server: ServerProcess) -> None:
    unknown = cli("status", "batch_0000000000000000", "--json", "--url", server.url)
    refused = cli("submit", "--size", "0", "--url", server.url)
    unreachable = cli("status", "batch_x", "--url", "http://127.0.0.1:9")

    assert unknown.returncode == EXIT_ERROR
    assert json.loads(unknown.stdout)["error"]["status"] == 404
    assert refused.returncode == EXIT_ERROR
    assert "batchSize" in refused.stderr
    assert unreachable.returncode == EXIT_ERROR
    assert "cannot reach" in unreachable.stderr


def test_the_url_and_token_come_from_the_settings(tmp_path: Path) -> None:
    env = {"BATCH_DASHBOARD_API_TOKEN": TOKEN}
    with serve(tmp_path / "guarded.sqlite3", env) as guarded:
        settings = {"BATCH_DASHBOARD_CLIENT_URL": guarded.url}

        without = cli("submit", "--size", "1", env=settings)
        wrong = cli(
            "submit",
            "--size",
            "1",
            env={**settings, "BATCH_DASHBOARD_API_TOKEN": "nope"},
        )
        right = cli(
            "submit",
            "--size",
            "1",
            "--wait",
            env={**settings, "BATCH_DASHBOARD_API_TOKEN": TOKEN},
        )
        log = "\n".join(guarded.log)

    assert without.returncode == EXIT_ERROR
    assert "401" in without.stderr
    assert wrong.returncode == EXIT_ERROR
    assert right.returncode == 0, right.stderr
    assert "refused POST /api/jokes/batches" in log
    assert TOKEN not in log
    assert "nope" not in log


def test_the_progress_bar_draws_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = _Progress(stream)
    status = {
        "batchId": "batch_1",
        "status": "in_progress",
        "total": 10,
        "remaining": 5,
        "createdIds": ["j"] * 5,
        "duplicates": 0,
        "failed": 0,
        "cancelled": 0,
        "version": 3,
    }

    progress(status)
    progress({**status, "remaining": 0, "status": "completed", "version": 9})
    progress.close()

    drawn = stream.getvalue()
    assert drawn.startswith("\r[")
    assert "5/10" in drawn and "10/10" in drawn
    assert "#" * 30 in drawn
    assert drawn.endswith("\n")
