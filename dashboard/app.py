"""Mount the Dash app on the Flask server."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import dash
from flask import Flask

from batch_dashboard.service import BatchService
from dashboard.callbacks import register_callbacks
from dashboard.export import register_exports
from dashboard.layout import build_shell

logger = logging.getLogger(__name__)


def assets_folder() -> str:
    """The ``assets/`` folder, from a source tree or an installed package."""
    spec = importlib.util.find_spec("assets")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "batch_dashboard.js").exists():
                return str(location)

    return str(Path(__file__).resolve().parent.parent / "assets")


def init_app(server: Flask, service: BatchService) -> dash.Dash:
    """Create the dashboard on ``server``, reading through ``service``."""
    # Dash's stubs type these options narrower than Dash accepts them.
    options: dict[str, Any] = {
        "server": server,
        "url_base_pathname": "/",
        "assets_folder": assets_folder(),
        "title": "Batch Status Dashboard",
        "update_title": None,
        "serve_locally": True,
        "compress": False,
        # Pages are drawn by the router, so most components appear later.
        "suppress_callback_exceptions": True,
    }
    app = dash.Dash("batch_dashboard.dashboard", **options)
    app.layout = lambda: build_shell(service.enabled)
    register_callbacks(app, service)
    register_exports(server, service)
    server.extensions["batch_dashboard_dash"] = app
    return app
