"""The control servers: waitress, set up as ``serve`` sets it up, answering one
fixed body with fixed headers.

``python -m bench.fixed_server BODY_FILE HEADERS_JSON [--threads N] [--app]``

Without ``--app`` a tiny WSGI app answers at every path: the most waitress
can do. With ``--app`` the shipped Flask app (``create_app``, as ``serve``
builds it) answers at ``CONTROL_PATH`` with the same object serialised per
request (what the status route costs apart from its read: the target's
yardstick), and at ``CONTROL_BYTES_PATH`` with the bytes from memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from batch_dashboard.cli import configure_logging

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CONTROL_PATH = "/api/bench/fixed-status"
CONTROL_BYTES_PATH = "/api/bench/fixed-bytes"


def fixed_app(body: bytes, headers: list[tuple[str, str]]) -> WSGIApp:
    answer = [*headers, ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", answer)
        return [body]

    return app


def shipped_app_with_fixed_route(body: bytes, headers: list[tuple[str, str]]) -> Any:
    """The product's Flask app plus two routes that answer ``body``."""
    from flask import Response, jsonify

    from batch_dashboard.app import create_app

    app = create_app()
    payload = json.loads(body)

    def fixed_json() -> Response:
        response = jsonify(payload)
        response.headers["Cache-Control"] = "no-store"
        return response

    def fixed_bytes() -> Response:
        return Response(body, headers=headers)

    app.add_url_rule(CONTROL_PATH, "api.bench_fixed", fixed_json)
    app.add_url_rule(CONTROL_BYTES_PATH, "api.bench_fixed_bytes", fixed_bytes)
    return app


def main(argv: list[str] | None = None) -> int:
    import waitress

    parser = argparse.ArgumentParser(prog="bench.fixed_server")
    parser.add_argument("body", type=Path)
    parser.add_argument("headers", type=Path)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--app", action="store_true")
    args = parser.parse_args(argv)

    configure_logging("INFO")
    headers = [(str(k), str(v)) for k, v in json.loads(args.headers.read_text())]
    body = args.body.read_bytes()
    if args.app:
        wsgi: Any = shipped_app_with_fixed_route(body, headers)
    else:
        wsgi = fixed_app(body, headers)
    server: Any = waitress.create_server(
        wsgi,
        host="127.0.0.1",
        port=0,
        threads=args.threads,
        ident="batch-dashboard",
        clear_untrusted_proxy_headers=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    logger.info("fixed JSON on http://127.0.0.1:%s/", server.effective_port)
    try:
        server.run()
    finally:
        server.close()

    return 0


if __name__ == "__main__":
    sys.exit(main())
