"""batch_dashboard.js as another page would use it, in the real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard import ids
from tests.browser.mixed import make_mixed

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

CREATE_AND_POLL = """
const done = arguments[arguments.length - 1];
const seen = [];
BatchDashboard.createBatch({batchSize: 3, prompts: ["cats"]}).then(created => {
  BatchDashboard.pollStatus(created.batchId, {
    interval: 100,
    onStatus: s => {
      seen.push(s.status);
      if (s.status === "completed") done({id: created.batchId, seen: seen});
    },
    onError: e => done({error: e}),
  });
}, e => done({error: e}));
"""

BAD_CREATE = """
const done = arguments[arguments.length - 1];
BatchDashboard.createBatch({batchSize: 0}).then(
  () => done(null), e => done(e));
"""

SUBSCRIBE = """
const done = arguments[arguments.length - 1];
const got = [];
BatchDashboard.subscribe(arguments[0], {
  onStatus: s => got.push(s.remaining),
  onEnd: e => done({end: e, got: got}),
  onError: closed => { if (closed) done({closed: true}); },
});
"""

GATE = """
const gate = new BatchDashboard.Gate({interval: 1000});
const out = {};
const first = gate.request(false);
out.first = first && first.n;
out.whileInFlight = gate.request(false);
gate.done({n: first.n, ok: false});
out.afterFailure = gate.request(false);
out.failures = gate.failures;
out.backoff = gate.notBefore - Date.now();
gate.notBefore = 0;
out.hidden = gate.request(true);
out.missed = gate.missed;
const next = gate.request(false);
out.next = next && next.n;
gate.done({n: next.n, ok: true});
out.failuresAfterSuccess = gate.failures;
out.delays = [0, 1, 2, 3, 10].map(f => BatchDashboard.backoffDelay(2000, f));
return out;
"""


def test_the_module_creates_polls_and_subscribes(live_dashboard: Any) -> None:
    live = live_dashboard({"PROVIDER_DELAY": 0.05})
    driver = live.duo.driver
    driver.set_script_timeout(30)

    polled = driver.execute_async_script(CREATE_AND_POLL)
    assert "error" not in polled, polled
    assert polled["seen"][-1] == "completed"
    assert live.service.status(polled["id"])["remaining"] == 0

    error = driver.execute_async_script(BAD_CREATE)
    assert error["status"] == 400 and error["field"] == "batchSize"

    batch_id = live.service.create({"batchSize": 4}).batch["id"]
    url = f"/api/jokes/batches/{batch_id}/events"
    streamed = driver.execute_async_script(SUBSCRIBE, url)
    assert streamed["end"] == {"batchId": batch_id, "status": "completed"}
    assert streamed["got"][-1] == 0


def test_the_gate_keeps_one_request_in_flight_and_backs_off(
    live_dashboard: Any,
) -> None:
    live = live_dashboard(start=False)
    out = live.duo.driver.execute_script(GATE)
    assert out["first"] == 1
    assert out["whileInFlight"] is None
    assert out["afterFailure"] is None and out["failures"] == 1
    assert 1000 < out["backoff"] <= 2000
    assert out["hidden"] is None and out["missed"] is True
    assert out["next"] == 2 and out["failuresAfterSuccess"] == 0
    assert out["delays"] == [2000, 4000, 8000, 16000, 60000]


def test_dark_mode_follows_the_system_setting(live_dashboard: Any) -> None:
    live = live_dashboard({"STALL_SECONDS": 3600}, start=False)
    make_mixed(live.service)
    driver = live.duo.driver
    background = "return getComputedStyle(document.body).backgroundColor"
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "light"}]},
    )
    live.open("/")
    live.duo.wait_for_element(".card.status-failed", timeout=10)
    light = driver.execute_script(background)

    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    dark = driver.execute_script(background)
    assert light == "rgb(244, 246, 248)"
    assert dark == "rgb(17, 21, 27)"
    live.duo.wait_for_element(f"#{ids.OVERVIEW_RATE_CHART} .main-svg", timeout=10)
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "dashboard-dark.png"))
