"""The Dash face: a dashboard on the same Flask server, at ``/``."""

from dashboard.app import init_app

__all__ = ["init_app"]
