"""Browser fixtures: the real app served in a thread, driven by dash_duo.

The app is served by werkzeug's threaded server rather than
``dash_duo.start_server``: that runner stops by raising SystemExit in every
thread started after it, the generator's workers included, which leaves the
pool unable to shut down.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.serving import make_server


@dataclass
class LiveDashboard:
    """An app served to the browser, with a count of the requests it saw."""

    app: Flask
    duo: Any
    requests: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def service(self) -> Any:
        return self.app.extensions["batch_dashboard"].service

    def count(self, path: str) -> int:
        with self.lock:
            return self.requests[path]

    @property
    def root(self) -> str:
        return "/".join(self.duo.server_url.split("/", 3)[:3])

    def open(self, path: str = "/") -> None:
        self.duo.driver.get(self.root + path)


@pytest.fixture
def live_dashboard(
    make_app: Any, dash_duo: Any
) -> Iterator[Callable[..., LiveDashboard]]:
    """Start the dashboard with settings overrides; open ``/`` in Chromium."""

    servers: list[Any] = []

    def start(
        config: dict[str, Any] | None = None, path: str = "/", start: bool = True
    ) -> LiveDashboard:
        app = make_app(config, start=start)
        live = LiveDashboard(app, dash_duo)

        @app.before_request
        def count_request() -> None:
            with live.lock:
                live.requests[request.path] += 1

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        dash_duo.server_url = f"http://127.0.0.1:{server.server_port}{path}"
        dash_duo.wait_for_element("#page", timeout=10)
        return live

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(10)
