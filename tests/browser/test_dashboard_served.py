"""The dashboard under the shipped server (waitress), stream and all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard import ids
from tests.helpers import serve

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_the_served_dashboard_runs_a_batch_live_over_its_stream(
    dash_duo: Any, tmp_path: Path
) -> None:
    env = {"BATCH_DASHBOARD_PROVIDER_DELAY": "0.2", "BATCH_DASHBOARD_WORKERS": "1"}
    with serve(tmp_path / "store.sqlite3", env) as server:
        dash_duo.server_url = server.url
        # The grid's count is drawn once the page's callbacks are all wired.
        dash_duo.wait_for_contains_text(f"#{ids.RESULT_COUNT}", "batches", 15)
        dash_duo.find_element(f"#{ids.CREATE_BUTTON}").click()
        dash_duo.wait_for_contains_text(f"#{ids.CREATE_MESSAGE}", "Created", 10)
        batch_id = dash_duo.find_element(f"#{ids.CREATE_MESSAGE}").text.split()[-1]
        card = f'[id*=\'"type":"{ids.CARD}"\'][id*=\'"{batch_id}"\']'

        dash_duo.wait_for_contains_text(f"{card} .badge", "Completed", timeout=30)
        stats = "return window.dash_clientside.batch_dashboard.stats()"
        assert dash_duo.driver.execute_script(stats)["streamsOpened"] >= 1
        assert len(dash_duo.find_elements(f"{card} .chip")) == 5
