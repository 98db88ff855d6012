"""One dashboard poll tick beside a full re-render of the same grid page.

500 batches stored, 5 of them active; each tick follows one item finished in
every active batch. Both are measured as the browser asks for them: POST
/_dash-update-component through the Flask app (in-process WSGI), so the
figures include Dash's request parsing and response serialisation.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from batch_dashboard.app import create_app
from batch_dashboard.service import status_view
from bench.common import median, quick, ratio_line
from bench.fill import fill_store
from dashboard import ids
from dashboard.cards import CHIPS_PAGE, card_state
from tests.dash_calls import find_callback, payload

STORED = 500
ACTIVE = 5
ACTIVE_SIZE = 40


def _advance(service: Any, batch_id: str, number: int) -> None:
    item = service.batches.claim(batch_id)
    if item is None:
        return
    text = f"Bench joke {number} of {batch_id}, told once only."
    service.batches.record_joke(item, text, "bench", 1)


def _post(client: Any, body: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post("/_dash-update-component", json=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"callback answered {response.status_code}")
    return elapsed, len(response.get_data()), response.get_json()["response"]


def run() -> list[str]:
    """Measure and return the report lines."""
    rounds = 5 if quick() else 30
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        database = Path(tmp) / "store.sqlite3"
        fill_store(database, STORED - ACTIVE, 10, target_ids=10)
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{database}", "STALL_SECONDS": 3600},
            start_executor=False,
        )
        try:
            return _measure(app, rounds)
        finally:
            app.extensions["batch_dashboard"].engine.dispose()


def _measure(app: Any, rounds: int) -> list[str]:
    service = app.extensions["batch_dashboard"].service
    active = [
        service.create({"batchSize": ACTIVE_SIZE, "prompts": ["bench"]}).batch["id"]
        for _ in range(ACTIVE)
    ]
    for number in range(3):
        for batch_id in active:
            _advance(service, batch_id, number)

    client = app.test_client()
    dependencies = client.get("/_dash-dependencies").get_json()
    grid = find_callback(dependencies, f"{ids.GRID_META}.data")
    tick = find_callback(dependencies, f"{ids.ACK}.data")
    grid_body = payload(
        grid,
        {f"{ids.URL}.search": "", f"{ids.REFRESH}.data": 0},
        changed=[f"{ids.URL}.search"],
    )

    full_times, full_bytes = [], 0
    for _ in range(rounds):
        elapsed, size, response = _post(client, grid_body)
        full_times.append(elapsed)
        full_bytes = size
    meta = response[ids.GRID_META]["data"]

    # The page's cards as the browser holds them after that render.
    page = [row for row in service.batches.list(limit=24)]
    card_ids = [row["id"] for row in page]
    if not set(active) <= set(card_ids):
        raise RuntimeError("the active batches are not on the first page")
    states = {
        row["id"]: card_state(
            status_view(row),
            min(len(row["created_ids"]), CHIPS_PAGE),
            CHIPS_PAGE,
            0,
            False,
        )
        for row in page
    }

    def tick_once(number: int, overview_at: float) -> tuple[float, int]:
        for batch_id in active:
            _advance(service, batch_id, 100 + number)
        body = payload(
            tick,
            {
                f"{ids.TICK}.data": {"n": number},
                f"{ids.CARD_STATE}.data": [states[i] for i in card_ids],
                f"{ids.GRID_META}.data": meta,
                f"{ids.OVERVIEW_STATE}.data": {"at": overview_at, "sig": None},
                f"{ids.REFRESH}.data": 0,
            },
            matches=card_ids,
            changed=[f"{ids.TICK}.data"],
        )
        elapsed, size, response = _post(client, body)
        changed = [key for key in response if key.startswith("{")]
        if ids.REFRESH in response:
            raise RuntimeError("the tick asked for a full redraw")
        for key in changed:
            if f'"{ids.CARD_STATE}"' in key:
                states[key.split('"id":"')[1].split('"')[0]] = response[key]["data"]
        return elapsed, size

    tick_times, tick_sizes = [], []
    for number in range(rounds):
        elapsed, size = tick_once(number, time.time())
        tick_times.append(elapsed)
        tick_sizes.append(size)
    with_overview = [tick_once(rounds + n, 0) for n in range(3)]

    full_ms = median(full_times) * 1000
    tick_ms = median(tick_times) * 1000
    tick_bytes = median(tick_sizes)
    overview_ms = median([t for t, _ in with_overview]) * 1000
    overview_bytes = median([s for _, s in with_overview])
    return [
        f"store: {STORED} batches, {ACTIVE} active, first page {len(card_ids)} cards",
        f"full grid render: {full_ms:.1f} ms, {full_bytes} bytes",
        f"poll tick ({ACTIVE} cards changed): {tick_ms:.1f} ms, {tick_bytes:.0f} bytes"
        " (target under 50 ms)",
        ratio_line(
            "tick bytes / full render bytes", tick_bytes / full_bytes, "<= 0.05"
        ),
        ratio_line("tick time / full render time", tick_ms / full_ms),
        f"tick with the overview strip due (every 10 s at most): "
        f"{overview_ms:.1f} ms, {overview_bytes:.0f} bytes",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
