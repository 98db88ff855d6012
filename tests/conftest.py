"""Fixtures: an app on a temporary SQLite file, its client, browser options."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.exc import OperationalError

from batch_dashboard.app import create_app
from db import create_store_engine
from db.models import Base

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


# The machine's own PostgreSQL; the store tests run on it as well as SQLite.
POSTGRES_URL = os.environ.get(
    "BATCH_DASHBOARD_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)


def _postgres_or_skip(url: str) -> None:
    """Empty the test database, or skip (fail under CI) when it is not there."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            present = inspect(conn).get_table_names()
            names = [t.name for t in Base.metadata.sorted_tables if t.name in present]
            if names:
                conn.exec_driver_sql(
                    f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"
                )
        engine.dispose()
    except OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {url}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {url}")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh store on each backend: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    else:
        url = POSTGRES_URL
        _postgres_or_skip(url)

    engine = create_store_engine(url)
    yield engine
    engine.dispose()


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
