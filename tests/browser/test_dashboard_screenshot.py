"""The README's screenshot: the dashboard with batches in mixed states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard import ids
from tests.browser.mixed import make_mixed

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def test_the_dashboard_with_mixed_states_is_saved_as_the_screenshot(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"STALL_SECONDS": 3600}, start=False)
    made = make_mixed(live.service)
    live.duo.driver.set_window_size(1400, 1150)
    live.open("/")
    duo = live.duo
    for name in ("completed", "failed", "cancelled", "in_progress", "queued"):
        duo.wait_for_element(f".card.status-{name}", timeout=10)
    duo.wait_for_element(f"#{ids.OVERVIEW_RATE_CHART} .main-svg", timeout=10)

    # Every status is named in words on its card, not by colour alone.
    badges = {e.text for e in duo.find_elements(".card .badge")}
    assert {"Completed", "Failed", "Cancelled", "In progress", "Queued"} <= badges
    assert len(duo.find_elements(".card")) == len(made)

    # Everything the page loaded came from this server: no CDN, no web fonts.
    loaded = duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(url.startswith(live.root + "/") for url in loaded), loaded

    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert duo.driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
