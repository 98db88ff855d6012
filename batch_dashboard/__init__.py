"""Batch Status Dashboard: run and watch asynchronous batches of jokes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Any = None, start_executor: bool = True) -> Flask:
    """Build the application (see ``batch_dashboard.app.create_app``)."""
    from batch_dashboard.app import create_app as factory

    return factory(config, start_executor=start_executor)


__all__ = ["__version__", "create_app"]
