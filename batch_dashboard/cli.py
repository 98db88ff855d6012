"""The ``batch-dashboard`` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from batch_dashboard.settings import SETTINGS, SettingsError, load_settings

logger = logging.getLogger(__name__)

# Settings that `serve` takes as flags; every other one comes from the
# environment (all are listed in `serve --help`).
SERVE_FLAGS = {
    "HOST": "--host",
    "PORT": "--port",
    "DATABASE_URL": "--database",
    "WORKERS": "--workers",
}


def _settings_epilog() -> str:
    lines = ["settings (environment variables):"]
    for setting in SETTINGS:
        default = "" if setting.default is None else setting.default
        lines.append(f"  {setting.env} [{setting.unit}, default {default!r}]")
        lines.append(f"      {setting.help}")

    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="batch-dashboard",
        description="Run and watch asynchronous batches of joke generation.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the dashboard and the REST API",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    by_key = {setting.key: setting for setting in SETTINGS}
    for key, flag in SERVE_FLAGS.items():
        setting = by_key[key]
        serve.add_argument(
            flag,
            dest=key,
            metavar=setting.unit.upper(),
            help=f"{setting.help} (env {setting.env})",
        )
    serve.set_defaults(handler=serve_command)

    return parser


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
    )
    # waitress warns once per queued request under load; that is not news.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def serve_command(args: argparse.Namespace) -> int:
    """Serve with waitress until SIGINT or SIGTERM, then stop the generator."""
    import waitress

    from batch_dashboard.app import create_app

    overrides = {
        key: getattr(args, key) for key in SERVE_FLAGS if getattr(args, key) is not None
    }
    settings = load_settings(overrides)
    configure_logging(settings.log_level)
    app = create_app(overrides)
    runtime = app.extensions["batch_dashboard"]
    server: Any = waitress.create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=settings.server_threads,
        ident="batch-dashboard",
        clear_untrusted_proxy_headers=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    try:
        signal.signal(signal.SIGTERM, stop)
        logger.info(
            "Batch Status Dashboard on http://%s:%s/", host, server.effective_port
        )
        # waitress ends its loop itself on KeyboardInterrupt.
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        # A second SIGTERM must not cut the grace short and skip the release
        # of running items.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        logger.info("shutting down")
        server.close()
        runtime.executor.shutdown()
        runtime.engine.dispose()

    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"batch-dashboard: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
