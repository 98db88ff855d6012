"""Fixtures: an app on a temporary SQLite file, its client, browser options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from batch_dashboard.app import create_app

CHROME_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


def pytest_setup_options() -> Any:
    """Chrome options for dash[testing]: Debian's Chromium, headless."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in CHROME_ARGUMENTS:
        options.add_argument(argument)
    return options


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Any]:
    """Build apps on a temporary SQLite file; their executors stop afterwards."""
    made: list[Flask] = []

    def make(config: dict[str, Any] | None = None, start: bool = True) -> Flask:
        settings = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
            "PROVIDER_DELAY": 0,
            "PROVIDER_SEED": 7,
            "RETRY_BACKOFF": 0,
            **(config or {}),
        }
        app = create_app(settings, start_executor=start)
        made.append(app)
        return app

    yield make
    for app in made:
        runtime = app.extensions["batch_dashboard"]
        runtime.executor.shutdown(grace=5)
        runtime.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client whose every ``/api`` answer is checked against the document."""
    from tests.openapi_check import checked_client

    return checked_client(app)
