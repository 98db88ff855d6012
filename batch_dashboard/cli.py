"""The ``batch-dashboard`` command."""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from batch_dashboard.client import ApiError, BadUrl, Client, ClientError, WaitTimeout
from batch_dashboard.settings import SETTINGS, Settings, SettingsError, load_settings

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
    _add_client_commands(commands)

    return parser


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="server URL (env BATCH_DASHBOARD_CLIENT_URL, default "
        "http://127.0.0.1:8050); the token comes from BATCH_DASHBOARD_API_TOKEN",
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")


def _seconds(text: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "more than 0" if positive else "0 or more"
        raise argparse.ArgumentTypeError(f"must be {bound} seconds, not {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    return _seconds(text, positive=True)


def _any_seconds(text: str) -> float:
    return _seconds(text, positive=False)


def _add_client_commands(commands: Any) -> None:
    submit = commands.add_parser(
        "submit",
        help="start a batch through the REST API",
        description="Start a batch. Exit status: 0 started (with --wait: "
        f"completed), {EXIT_BATCH_FAILED} failed or cancelled, {EXIT_SETTINGS} bad "
        f"settings, {EXIT_TIMEOUT} timed out, {EXIT_ERROR} refused or unreachable.",
    )
    submit.add_argument("--size", type=int, metavar="N", help="jokes to generate")
    submit.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="P",
        help="a topic; repeat for several",
    )
    submit.add_argument(
        "--wait", action="store_true", help="poll until the batch is finished"
    )
    submit.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="how long --wait waits (env BATCH_DASHBOARD_CLIENT_WAIT_TIMEOUT, "
        "default 60)",
    )
    submit.add_argument(
        "--retry-for",
        type=_any_seconds,
        metavar="SECONDS",
        help="how long to retry the create when there is no answer, 429 or "
        "502-504, with the same Idempotency-Key (default: the --wait timeout with "
        f"--wait, else {SUBMIT_RETRY_REQUESTS} x BATCH_DASHBOARD_CLIENT_REQUEST_"
        "TIMEOUT; 0 asks once)",
    )
    _client_options(submit)
    submit.set_defaults(handler=submit_command)

    status = commands.add_parser("status", help="show a batch's status")
    status.add_argument("batch_id", metavar="BATCH_ID")
    _client_options(status)
    status.set_defaults(handler=status_command)

    cancel = commands.add_parser("cancel", help="cancel a batch")
    cancel.add_argument("batch_id", metavar="BATCH_ID")
    _client_options(cancel)
    cancel.set_defaults(handler=cancel_command)


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
    try:
        app = create_app(overrides, start_executor=False)
    except (ValueError, OSError, SQLAlchemyError) as exc:
        print(f"batch-dashboard: cannot start: {exc}", file=sys.stderr)
        return 1

    runtime = app.extensions["batch_dashboard"]
    try:
        server: Any = waitress.create_server(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.server_threads,
            ident="batch-dashboard",
            clear_untrusted_proxy_headers=True,
        )
    except OSError as exc:
        print(
            f"batch-dashboard: cannot listen on {settings.host}:{settings.port}: {exc}",
            file=sys.stderr,
        )
        runtime.engine.dispose()
        return 1

    # Only a process that holds its port may resume the store's batches.
    runtime.executor.start()

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


EXIT_BATCH_FAILED = 1
EXIT_SETTINGS = 2
EXIT_TIMEOUT = 3
EXIT_ERROR = 4
BAR_WIDTH = 30
# Without --wait, submit retries for this many request timeouts.
SUBMIT_RETRY_REQUESTS = 3


def _client(args: argparse.Namespace) -> tuple[Client, Settings]:
    """The client of the settings; ``BadUrl`` names where the URL came from."""
    settings = load_settings()
    try:
        client = Client(
            args.url or settings.client_url,
            token=settings.api_token,
            timeout=settings.client_request_timeout,
        )
    except BadUrl as exc:
        source = "--url" if args.url else "BATCH_DASHBOARD_CLIENT_URL"
        raise BadUrl(f"{source}: {exc}") from None
    return client, settings


def _line(status: dict[str, Any]) -> str:
    done = status["total"] - status["remaining"]
    return (
        f"{status['batchId']} {status['status']} {done}/{status['total']} "
        f"created={len(status['createdIds'])} duplicates={status['duplicates']} "
        f"failed={status['failed']} cancelled={status['cancelled']}"
    )


def _bar(status: dict[str, Any]) -> str:
    total = max(status["total"], 1)
    done = status["total"] - status["remaining"]
    filled = round(BAR_WIDTH * done / total)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"\r[{bar}] {done}/{status['total']} {status['status']:<11}"


class _Progress:
    """A bar on a terminal; otherwise one plain line per visible change."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self.version: int | None = None

    def __call__(self, status: dict[str, Any]) -> None:
        if self.tty:
            self.stream.write(_bar(status))
        elif status["version"] != self.version:
            self.stream.write(_line(status) + "\n")
        self.version = status["version"]
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.version is not None:
            self.stream.write("\n")
            self.stream.flush()


def _show(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if args.json else text, flush=True)


def _refused(args: argparse.Namespace, exc: ClientError) -> int:
    if args.json:
        error: dict[str, Any] = {"message": str(exc)}
        if isinstance(exc, ApiError):
            error.update(status=exc.status, code=exc.code, field=exc.field)
        print(json.dumps({"error": error}), flush=True)
    print(f"batch-dashboard: {exc}", file=sys.stderr)
    return EXIT_SETTINGS if isinstance(exc, BadUrl) else EXIT_ERROR


def submit_command(args: argparse.Namespace) -> int:
    """Start a batch, retrying what may pass; with --wait, follow it to the end."""
    try:
        client, settings = _client(args)
    except BadUrl as exc:
        return _refused(args, exc)

    timeout = settings.client_wait_timeout if args.timeout is None else args.timeout
    retry_for = args.retry_for
    if retry_for is None:
        retry_for = (
            timeout
            if args.wait
            else SUBMIT_RETRY_REQUESTS * settings.client_request_timeout
        )
    try:
        created = client.submit(args.size, args.prompt, retry_for=retry_for)
    except ClientError as exc:
        return _refused(args, exc)

    if not args.wait:
        _show(args, created, f"{created['batchId']} {created['status']}")
        return 0

    if not args.json:
        print(f"{created['batchId']} {created['status']}", flush=True)
    progress = _Progress(sys.stderr)
    try:
        final = client.wait(created["batchId"], timeout, on_status=progress)
    except WaitTimeout as exc:
        progress.close()
        last = exc.last or {"batchId": created["batchId"]}
        _show(args, {**last, "timedOut": True}, f"timed out: {exc}")
        return EXIT_TIMEOUT
    except ClientError as exc:
        progress.close()
        return _refused(args, exc)

    progress.close()
    _show(args, final, _line(final))
    return 0 if final["status"] == "completed" else EXIT_BATCH_FAILED


def status_command(args: argparse.Namespace) -> int:
    try:
        client, _ = _client(args)
        status = client.status(args.batch_id)
    except ClientError as exc:
        return _refused(args, exc)

    _show(args, status, _line(status))
    return 0


def cancel_command(args: argparse.Namespace) -> int:
    try:
        client, _ = _client(args)
        status = client.cancel(args.batch_id)
    except ClientError as exc:
        return _refused(args, exc)

    _show(args, status, _line(status))
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
