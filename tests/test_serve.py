"""The real ``batch-dashboard serve`` process, driven over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.helpers import TERMINAL, check_invariants, serve, wait_for

pytestmark = pytest.mark.server


def test_a_batch_completes_over_http_keeping_the_invariants(tmp_path: Path) -> None:
    env = {"BATCH_DASHBOARD_PROVIDER_DELAY": "0.01", "BATCH_DASHBOARD_WORKERS": "3"}
    with serve(tmp_path / "store.sqlite3", env) as server:
        session = requests.Session()
        created = session.post(
            f"{server.url}/api/jokes/batches",
            json={"batchSize": 40, "prompts": ["databases", "cats"]},
            timeout=10,
        )
        assert created.status_code == 202
        location = server.url + created.headers["Location"]

        polls: list[dict] = []

        def probe() -> dict | None:
            response = session.get(location, timeout=10)
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-store"
            status = response.json()
            check_invariants(status, polls[-1] if polls else None)
            polls.append(status)
            return status if status["status"] in TERMINAL else None

        final = wait_for(probe, timeout=60, interval=0.05)

        assert final["status"] == "completed"
        assert final["total"] == 40
        assert len(final["createdIds"]) + final["duplicates"] == 40
        assert len(polls) > 1
        joke = session.get(
            f"{server.url}/api/jokes/{final['createdIds'][0]}", timeout=10
        ).json()
        assert joke["batchId"] == final["batchId"]
        assert session.get(server.url + "/", timeout=10).status_code == 200

        assert server.stop() == 0

    urls = [line for line in server.log if "Batch Status Dashboard on http://" in line]
    assert len(urls) == 1


def test_serve_keeps_its_database_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {"BATCH_DASHBOARD_INSTANCE_PATH": str(instance)}

    with serve(None, env) as server:
        assert (instance / "batch_dashboard.sqlite3").exists(), server.log
        assert server.stop() == 0


def test_the_console_command_lists_every_setting() -> None:
    command = shutil.which("batch-dashboard", path=str(Path(sys.executable).parent))
    assert command is not None

    result = subprocess.run(
        [command, "serve", "--help"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0
    for flag in ("--host", "--port", "--database", "--workers"):
        assert flag in result.stdout
    assert "BATCH_DASHBOARD_DATABASE_URL" in result.stdout
    assert "BATCH_DASHBOARD_PROVIDER_DELAY" in result.stdout


def test_a_bad_setting_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "batch_dashboard", "serve", "--workers", "zero"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert "BATCH_DASHBOARD_WORKERS" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BATCH_DASHBOARD_PROVIDER": "nonesuch"}, "unknown provider"),
        ({"BATCH_DASHBOARD_LOG_LEVEL": "LOUD"}, "BATCH_DASHBOARD_LOG_LEVEL"),
        (
            {"BATCH_DASHBOARD_DATABASE_URL": "sqlite:////nonexistent/dir/x.sqlite3"},
            "cannot start",
        ),
    ],
)
def test_a_server_that_cannot_start_says_why_in_one_line(
    env: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "batch_dashboard", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )

    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_port_leaves_the_running_server_and_its_work_alone(
    tmp_path: Path,
) -> None:
    database = tmp_path / "store.sqlite3"
    env = {"BATCH_DASHBOARD_PROVIDER_DELAY": "0.2", "BATCH_DASHBOARD_WORKERS": "2"}
    with serve(database, env) as server:
        created = requests.post(
            f"{server.url}/api/jokes/batches", json={"batchSize": 20}, timeout=10
        ).json()
        port = server.url.rsplit(":", 1)[1]

        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "batch_dashboard",
                "serve",
                "--port",
                port,
                "--database",
                f"sqlite:///{database}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )

        assert second.returncode == 1
        assert "cannot listen" in second.stderr
        assert "interrupted items" not in second.stderr
        assert "executor started" not in second.stderr
        status = requests.get(
            f"{server.url}/api/jokes/batches/{created['batchId']}/status", timeout=10
        ).json()
        assert status["status"] in ("queued", "in_progress", "completed")


def test_shutdown_does_not_wait_out_a_slow_provider(tmp_path: Path) -> None:
    env = {
        "BATCH_DASHBOARD_PROVIDER_DELAY": "60",
        "BATCH_DASHBOARD_SHUTDOWN_GRACE": "0.5",
    }
    with serve(tmp_path / "store.sqlite3", env) as server:
        requests.post(
            f"{server.url}/api/jokes/batches", json={"batchSize": 2}, timeout=10
        )
        wait_for(lambda: any("in progress" in line for line in server.log))

        # The provider's 60 s pause ends with the shutdown: the process is
        # gone long before it would be over.
        assert server.stop(timeout=30) == 0
