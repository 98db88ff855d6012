"""Status polls per second under the shipped server, beside a fixed answer.

The shipped server is ``batch-dashboard serve`` itself (waitress, threads
from ``SERVER_THREADS``). The controls answer the same JSON with the same
waitress set-up: the shipped app serialising a fixed object (the target's
yardstick: what the route costs apart from reading the store), the shipped
app sending the bytes from memory, and a tiny WSGI app (the ceiling). All
over loopback with keep-alive.
Then the same poll with ten times the batches stored: its cost must not
grow with the store.
"""

from __future__ import annotations

import http.client
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from batch_dashboard.settings import load_settings
from bench.common import (
    load_generator_name,
    load_rps,
    median,
    python_command,
    quick,
    ratio_line,
    server_process,
)
from bench.fill import fill_store
from bench.fixed_server import CONTROL_BYTES_PATH, CONTROL_PATH

JOKES_PER_BATCH = 10
TARGET_IDS = 50
# Clients polling at once; the same whatever the server thread count.
CONNECTIONS = 8
# Headers waitress writes itself; the control must not send them twice.
_OWN_HEADERS = {"content-length", "date", "server", "connection"}


def _fetch(url: str) -> tuple[bytes, list[tuple[str, str]]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", parts.path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {body[:200]!r}")
        headers = [
            (name, value)
            for name, value in response.getheaders()
            if name.lower() not in _OWN_HEADERS
        ]
    finally:
        conn.close()
    return body, headers


def _serve(database: Path) -> list[str]:
    return python_command(
        "-m",
        "batch_dashboard",
        "serve",
        "--port",
        "0",
        "--database",
        f"sqlite:///{database}",
    )


def run() -> list[str]:
    """Measure and return the report lines."""
    small, big = (100, 1_000) if quick() else (1_000, 10_000)
    rounds, seconds = (1, 1.0) if quick() else (3, 3.0)
    threads = load_settings().server_threads
    connections = CONNECTIONS
    env = {"BATCH_DASHBOARD_PROVIDER_DELAY": "0", "BATCH_DASHBOARD_LOG_LEVEL": "INFO"}

    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        folder = Path(tmp)
        small_db, big_db = folder / "small.sqlite3", folder / "big.sqlite3"
        small_id = fill_store(small_db, small, JOKES_PER_BATCH, TARGET_IDS)
        big_id = fill_store(big_db, big, JOKES_PER_BATCH, TARGET_IDS)
        path = "/api/jokes/batches/{}/status"

        with (
            server_process(_serve(small_db), env) as small_server,
            server_process(_serve(big_db), env) as big_server,
        ):
            small_url = small_server.url + path.format(small_id)
            big_url = big_server.url + path.format(big_id)
            body, headers = _fetch(small_url)
            if len(json.loads(body)["createdIds"]) != TARGET_IDS:
                raise RuntimeError("the polled batch does not list its ids")
            (folder / "body").write_bytes(body)
            (folder / "headers.json").write_text(json.dumps(headers))
            control = [str(folder / "body"), str(folder / "headers.json")]
            control += ["--threads", str(threads)]
            app_env = {**env, "BATCH_DASHBOARD_DATABASE_URL": f"sqlite:///{small_db}"}
            with (
                server_process(
                    python_command("-m", "bench.fixed_server", *control, "--app"),
                    app_env,
                ) as app_server,
                server_process(
                    python_command("-m", "bench.fixed_server", *control), env
                ) as bare_server,
            ):
                urls = {
                    "small": small_url,
                    "uncached": small_url + "?createdAfter=1",
                    "json": app_server.url + CONTROL_PATH,
                    "app": app_server.url + CONTROL_BYTES_PATH,
                    "bare": bare_server.url + path.format(small_id),
                    "big": big_url,
                }
                for name in ("json", "app", "bare"):
                    if json.loads(_fetch(urls[name])[0]) != json.loads(body):
                        raise RuntimeError(f"the {name} control answers other JSON")

                for url in urls.values():
                    load_rps(url, connections, 1.0)

                figures: dict[str, list[float]] = {name: [] for name in urls}
                # Interleaved rounds: a noisy neighbour hits every case alike.
                for _ in range(rounds):
                    for name, url in urls.items():
                        figures[name].append(load_rps(url, connections, seconds))

    status, uncached, fixed, app, bare, grown = (median(figures[k]) for k in urls)
    how = (
        f"median of {rounds} x {seconds:.0f}s, {load_generator_name()}, "
        f"{connections} keep-alive connections, {threads} server threads"
    )
    rounds_text = " | ".join(
        f"{name} " + ", ".join(f"{v:,.0f}" for v in values)
        for name, values in figures.items()
    )
    return [
        f"status of a batch with {TARGET_IDS} createdIds, {small:,} batches stored: "
        f"{status:,.0f} req/s",
        f"the same served app answering a fixed JSON of the same "
        f"{len(body):,} bytes: {fixed:,.0f} req/s",
        _judged("status / same server, fixed JSON", status / fixed, 0.7),
        f"the same batch asked with ?createdAfter=1, which reads and serialises "
        f"the row at every poll (a changed batch costs this): {uncached:,.0f} req/s",
        ratio_line("uncached status / same server, fixed JSON", uncached / fixed),
        f"the same served app sending those bytes from memory: {app:,.0f} req/s",
        ratio_line("status / same server, bytes from memory", status / app),
        f"bare waitress (tiny WSGI app, same set-up), same bytes: {bare:,.0f} req/s",
        ratio_line("status / bare waitress fixed JSON", status / bare)
        + " (the ceiling of any Flask route here)",
        f"status with {big:,} batches and {big * JOKES_PER_BATCH:,} jokes stored: "
        f"{grown:,.0f} req/s",
        _judged(f"status {big:,} / {small:,} batches", grown / status, 0.9),
        f"({how}; rounds: {rounds_text})",
    ]


def _judged(name: str, value: float, target: float) -> str:
    verdict = "ok" if value >= target else "MISSED"
    return f"{ratio_line(name, value, f'>= {target:.2f}')} {verdict}"


if __name__ == "__main__":
    print("\n".join(run()))
    sys.exit(0)
