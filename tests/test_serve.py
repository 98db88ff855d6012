"""The real ``batch-dashboard serve`` process, driven over HTTP."""

from __future__ import annotations

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
