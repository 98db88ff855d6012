"""The application factory: store, executor, service, then the two faces."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response
from sqlalchemy import Engine

from batch_dashboard.events import ChangeFeed
from batch_dashboard.service import BatchService
from batch_dashboard.settings import Settings, load_settings
from db import BatchStore, JokeStore, create_store_engine
from generator import ThreadPoolBatchExecutor, make_provider

logger = logging.getLogger(__name__)

DATABASE_FILE = "batch_dashboard.sqlite3"


@dataclass
class Runtime:
    """What the factory built, kept at ``app.extensions["batch_dashboard"]``."""

    settings: Settings
    engine: Engine
    service: BatchService
    executor: ThreadPoolBatchExecutor
    # Batch changes the executor publishes; event streams wait on it.
    feed: ChangeFeed = field(default_factory=ChangeFeed)


def _database_url(settings: Settings, instance_path: str) -> str:
    if settings.database_url:
        return str(settings.database_url)

    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / DATABASE_FILE}"


def _in_reloader_parent() -> bool:
    # Under Flask's reloader the watching parent imports the app too; only the
    # child that serves (WERKZEUG_RUN_MAIN=true) may run the generator.
    return bool(os.environ.get("FLASK_DEBUG")) and (
        os.environ.get("WERKZEUG_RUN_MAIN") != "true"
    )


def _secure_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    return response


def create_app(
    config: Mapping[str, Any] | None = None, start_executor: bool = True
) -> Flask:
    """Create the Flask server with the REST API and the Dash dashboard.

    ``config`` overrides settings by key (``{"DATABASE_URL": ...}``); the
    environment and the defaults fill in the rest. Nothing starts at import.
    """
    settings = load_settings(config)
    app = Flask(
        "batch_dashboard",
        instance_path=settings.instance_path
        and os.path.abspath(settings.instance_path),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    engine = create_store_engine(
        _database_url(settings, app.instance_path),
        pool_size=settings.server_threads + settings.workers + 4,
    )
    jokes = JokeStore(engine)
    batches = BatchStore(engine, jokes)
    # One event stops the executor and wakes a provider paused mid-item.
    stop = threading.Event()
    provider = make_provider(
        settings.provider,
        seed=settings.provider_seed,
        delay=settings.provider_delay,
        stop=stop,
    )
    feed = ChangeFeed()
    executor = ThreadPoolBatchExecutor(
        batches,
        provider,
        workers=settings.workers,
        max_attempts=settings.max_attempts,
        provider_retries=settings.provider_retries,
        retry_backoff=settings.retry_backoff,
        shutdown_grace=settings.shutdown_grace,
        stop=stop,
        on_change=feed.publish,
    )
    service = BatchService(settings, batches, jokes, executor)
    app.extensions["batch_dashboard"] = Runtime(
        settings, engine, service, executor, feed
    )

    from api import init_app as init_api
    from dashboard import init_app as init_dashboard

    init_api(app)
    init_dashboard(app, service)
    app.after_request(_secure_headers)

    if start_executor and not _in_reloader_parent():
        executor.start()
        atexit.register(executor.shutdown)

    return app
