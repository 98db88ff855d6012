"""The Python client and the submit/status/cancel commands, against the real
``batch-dashboard serve`` process."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from batch_dashboard.cli import (
    EXIT_BATCH_FAILED,
    EXIT_ERROR,
    EXIT_SETTINGS,
    EXIT_TIMEOUT,
    _Progress,
)
from batch_dashboard.client import (
    ApiError,
    BadUrl,
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


# -- settings, foreign servers and retries of the commands --------------------


@dataclass
class Stub:
    """A local HTTP server answering the canned ``answers`` in turn (the last
    one repeats), recording each request's method, path and headers."""

    answers: list[tuple[int, dict[str, str], bytes]]
    url: str = ""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def stub(*answers: tuple[int, dict[str, str], bytes]) -> Iterator[Stub]:
    served = Stub(list(answers))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with lock:
                served.requests.append((self.command, self.path, dict(self.headers)))
                turn = min(len(served.requests), len(served.answers)) - 1
                status, headers, body = served.answers[turn]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def as_json(status: int, payload: Any, **headers: str) -> tuple[int, dict, bytes]:
    body = json.dumps(payload).encode()
    return status, {"Content-Type": "application/json", **headers}, body


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("batch-dashboard: "), lines


BAD_URLS = [
    "notaurl",
    "127.0.0.1:8050",
    "ftp://127.0.0.1/",
    "file:///etc/passwd",
    "http://",
    "http://:8050",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:port",
    "http://127.0.0.1:8050/?x=1",
    "http://127.0.0.1:8050/#top",
    "http://exa mple:8050",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_that_is_not_a_server_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(BadUrl, match="not a server URL"):
        Client(url)


@pytest.mark.parametrize(
    "command",
    [("status", "batch_x"), ("cancel", "batch_x"), ("submit", "--size", "1")],
)
@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://127.0.0.1/", "http://127.0.0.1:99999"]
)
def test_a_bad_url_exits_with_the_settings_status(
    command: tuple[str, ...], url: str
) -> None:
    result = cli(*command, "--url", url)

    assert result.returncode == EXIT_SETTINGS, result.stderr
    assert_one_line_error(result)
    assert "URL" in result.stderr and url in result.stderr


def test_a_bad_url_setting_exits_with_the_settings_status() -> None:
    result = cli("status", "batch_x", env={"BATCH_DASHBOARD_CLIENT_URL": "ftp://x/"})

    assert result.returncode == EXIT_SETTINGS, result.stderr
    assert_one_line_error(result)


FOREIGN = [
    (200, {"Content-Type": "text/html"}, b"<html><body>a router</body></html>"),
    as_json(200, {"hello": "world"}),
    as_json(200, ["batch_1"]),
    as_json(200, {"batchId": 5, "status": "queued"}),
    as_json(
        200,
        {
            "batchId": "b",
            "status": "queued",
            "total": "ten",
            "remaining": 1,
            "createdIds": [],
            "duplicates": 0,
            "failed": 0,
            "cancelled": 0,
        },
    ),
    as_json(202, {"batchId": "b", "status": "queued", "total": None}),
    (200, {"Content-Type": "application/json"}, b""),
]


@pytest.mark.parametrize("answer", FOREIGN)
@pytest.mark.parametrize(
    "command",
    [
        ("status", "batch_x"),
        ("cancel", "batch_x"),
        ("submit", "--size", "1", "--wait"),
    ],
)
def test_a_server_that_is_not_this_api_is_a_clear_error(
    command: tuple[str, ...], answer: tuple[int, dict, bytes]
) -> None:
    with stub(answer) as foreign:
        result = cli(*command, "--url", foreign.url)

    assert result.returncode == EXIT_ERROR, result.stderr
    assert_one_line_error(result)
    assert f"the server at {foreign.url} did not answer as" in result.stderr
    assert "Batch Status Dashboard" in result.stderr


def test_a_foreign_answer_with_json_output_is_json() -> None:
    with stub(FOREIGN[0]) as foreign:
        result = cli("status", "batch_x", "--json", "--url", foreign.url)

    assert result.returncode == EXIT_ERROR
    assert "did not answer as" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "-inf", "soon"])
def test_a_wait_timeout_that_is_not_positive_is_refused(timeout: str) -> None:
    with stub(as_json(202, {"batchId": "batch_1", "status": "queued"})) as target:
        result = cli(
            "submit", "--size", "1", "--wait", "--timeout", timeout, "--url", target.url
        )

    assert result.returncode == EXIT_SETTINGS, result.stderr
    assert "Traceback" not in result.stderr
    assert "--timeout" in result.stderr
    assert target.requests == []


@pytest.mark.parametrize("retry_for", ["-1", "nan"])
def test_a_negative_retry_budget_is_refused(retry_for: str) -> None:
    with stub(as_json(202, {"batchId": "batch_1", "status": "queued"})) as target:
        result = cli(
            "submit", "--size", "1", "--retry-for", retry_for, "--url", target.url
        )

    assert result.returncode == EXIT_SETTINGS, result.stderr
    assert "--retry-for" in result.stderr
    assert target.requests == []


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_submit_retries_a_busy_server_with_the_same_key(status: int) -> None:
    busy = as_json(
        status,
        {"error": {"code": "busy", "message": "try later", "field": None}},
        **{"Retry-After": "0"},
    )
    created = as_json(202, {"batchId": "batch_stub", "status": "queued"})
    with stub(busy, busy, created) as target:
        result = cli("submit", "--size", "2", "--url", target.url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["batch_stub", "queued"]
    assert [(method, path) for method, path, _ in target.requests] == [
        ("POST", "/api/jokes/batches")
    ] * 3
    keys = {headers["Idempotency-Key"] for _, _, headers in target.requests}
    assert len(keys) == 1


def test_submit_with_no_retry_budget_asks_once() -> None:
    busy = as_json(
        429,
        {"error": {"code": "over_capacity", "message": "full", "field": None}},
        **{"Retry-After": "0"},
    )
    with stub(busy) as target:
        result = cli("submit", "--size", "2", "--retry-for", "0", "--url", target.url)

    assert result.returncode == EXIT_ERROR
    assert "429" in result.stderr
    assert len(target.requests) == 1


def test_submit_waits_for_a_full_server_to_free_up(tmp_path: Path) -> None:
    env = {
        "BATCH_DASHBOARD_MAX_ACTIVE_BATCHES": "1",
        "BATCH_DASHBOARD_PROVIDER_DELAY": "0.5",
    }
    with serve(tmp_path / "full.sqlite3", env) as full:
        client = Client(full.url)
        busy = client.submit(100)["batchId"]
        process = subprocess.Popen(
            [sys.executable, "-m", "batch_dashboard", "submit", "--size", "1"]
            + ["--url", full.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stderr is not None
            # The first refusal is logged as a retry; then the blocker goes.
            assert "429" in process.stderr.readline()
            client.cancel(busy)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        listed = [b["batchId"] for b in client.list()["batches"]]

    assert process.returncode == 0, err
    batch_id = out.split()[0]
    assert listed == [batch_id, busy]
