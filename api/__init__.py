"""The REST face: a Flask blueprint over the batch service."""

from api.routes import init_app

__all__ = ["init_app"]
