"""Live updates in the browser: progress without a reload, over the event
stream or by polling, and no requests once nothing on the page is active."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dashboard import ids
from tests.browser.mixed import finish
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

UPDATE = "/_dash-update-component"
ALL_EVENTS = "/api/jokes/batches/events"


def card(batch_id: str) -> str:
    return f'[id*=\'"type":"{ids.CARD}"\'][id*=\'"{batch_id}"\']'


def progress(duo: Any, batch_id: str) -> int:
    script = "const e = document.querySelector(arguments[0]); return e ? e.value : -1"
    return int(duo.driver.execute_script(script, f"{card(batch_id)} progress"))


@pytest.mark.parametrize("streams", [4, 0], ids=["event-stream", "polling-only"])
def test_a_cards_progress_advances_without_a_reload(
    live_dashboard: Any, streams: int
) -> None:
    live = live_dashboard(
        {
            "PROVIDER_DELAY": 0.25,
            "WORKERS": 1,
            "POLL_INTERVAL_MS": 500,
            "SSE_MAX_STREAMS": streams,
        }
    )
    duo = live.duo
    batch_id = live.service.create({"batchSize": 8}).batch["id"]
    live.open("/")
    duo.wait_for_element(card(batch_id), timeout=10)
    # A mark on the window: it would be gone after a reload.
    duo.driver.execute_script("window.__sameDocument = true")

    seen: set[int] = set()

    def finished() -> bool:
        value = progress(duo, batch_id)
        seen.add(value)
        return value == 8

    wait_for(finished, timeout=30)
    assert seen - {0, 8, -1}, f"no progress seen between start and end: {seen}"
    duo.wait_for_contains_text(f"{card(batch_id)} .badge", "Completed", timeout=10)
    assert duo.driver.execute_script("return window.__sameDocument === true")
    assert len(duo.find_elements(f"{card(batch_id)} .chip")) == 8
    # The page asked for a stream either way; with no slot it polled instead.
    assert live.count(ALL_EVENTS) >= 1
    stats = "return window.dash_clientside.batch_dashboard.stats()"
    opened = duo.driver.execute_script(stats)["streamsOpened"]
    assert (opened >= 1) is bool(streams)


def test_polling_stops_when_all_is_terminal_and_a_new_batch_restarts_it(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"POLL_INTERVAL_MS": 250, "PROVIDER_DELAY": 0.05})
    duo = live.duo
    first = live.service.create({"batchSize": 4}).batch["id"]
    live.open("/")
    duo.wait_for_contains_text(f"{card(first)} .badge", "Completed", timeout=20)
    feed = live.app.extensions["batch_dashboard"].feed

    # Once the page has seen the end, its ticks stop; its stream stays open,
    # quiet, to hear of batches started elsewhere.
    last: list[int] = []

    def steady() -> int | None:
        last.append(live.count(UPDATE))
        return last[-1] if len(last) > 1 and last[-1] == last[-2] else None

    settled = wait_for(steady, timeout=10, interval=0.6)
    # Absence of requests can only be shown over time: eight poll intervals.
    time.sleep(2.0)
    assert live.count(UPDATE) == settled
    assert feed.open_streams == 1

    size = duo.find_element(f"#{ids.BATCH_SIZE}")
    size.clear()
    size.send_keys("3")
    duo.find_element(f"#{ids.CREATE_BUTTON}").click()
    duo.wait_for_contains_text(f"#{ids.CREATE_MESSAGE}", "Created", timeout=10)
    second = duo.find_element(f"#{ids.CREATE_MESSAGE}").text.split()[-1]
    duo.wait_for_contains_text(f"{card(second)} .badge", "Completed", timeout=20)
    assert live.count(UPDATE) > settled + 1


def test_a_quiet_page_shows_a_batch_started_elsewhere(live_dashboard: Any) -> None:
    live = live_dashboard({"POLL_INTERVAL_MS": 250, "PROVIDER_DELAY": 0.05})
    duo = live.duo
    first = live.service.create({"batchSize": 2}).batch["id"]
    live.open("/")
    duo.wait_for_contains_text(f"{card(first)} .badge", "Completed", timeout=20)
    last: list[int] = []

    def steady() -> int | None:
        last.append(live.count(UPDATE))
        return last[-1] if len(last) > 1 and last[-1] == last[-2] else None

    wait_for(steady, timeout=10, interval=0.6)

    # As an automation script would: not through this page.
    second = live.service.create({"batchSize": 3}).batch["id"]

    duo.wait_for_contains_text(f"{card(second)} .badge", "Completed", timeout=20)
    duo.wait_for_contains_text(f"#{ids.OVERVIEW_TILES}", "2", timeout=10)


def test_a_batch_without_change_says_polling_is_paused_and_offers_resume(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"STALL_SECONDS": 1, "POLL_INTERVAL_MS": 300}, start=False)
    service = live.service
    batch_id = service.create({"batchSize": 3}).batch["id"]
    # An item held by a worker that makes no progress.
    assert service.batches.claim(batch_id) is not None
    live.open("/")
    duo = live.duo
    stall = f"{card(batch_id)} .stall"
    wait_for(lambda: duo.find_element(stall).is_displayed(), timeout=10)
    assert "polling is paused" in duo.find_element(stall).text

    # Paused everywhere: the page stops asking.
    last: list[int] = []

    def steady() -> int | None:
        last.append(live.count(UPDATE))
        return last[-1] if len(last) > 1 and last[-1] == last[-2] else None

    settled = wait_for(steady, timeout=10, interval=0.8)

    duo.find_element(f"{stall} button").click()
    wait_for(lambda: not duo.find_element(stall).is_displayed(), timeout=10)
    # The resume itself, then at least one tick.
    wait_for(lambda: live.count(UPDATE) >= settled + 2, timeout=10)


def test_leaving_the_grid_page_closes_its_event_stream(live_dashboard: Any) -> None:
    live = live_dashboard({"PROVIDER_DELAY": 2, "WORKERS": 1})
    duo = live.duo
    batch_id = live.service.create({"batchSize": 5}).batch["id"]
    live.open("/")
    feed = live.app.extensions["batch_dashboard"].feed
    wait_for(lambda: feed.open_streams == 1, timeout=15)

    duo.find_element(f"{card(batch_id)} .card-title").click()
    duo.wait_for_element(f"#{ids.DETAIL}", timeout=10)
    wait_for(lambda: feed.open_streams == 0, timeout=10)


HIDE = """
Object.defineProperty(document, "hidden", {value: arguments[0], configurable: true});
if (!arguments[0]) { document.dispatchEvent(new Event("visibilitychange")); }
"""
STREAM_EVENT = "dash_clientside.set_props('live-signal', {data: {t: Date.now()}})"


def test_a_hidden_tab_asks_nothing_and_catches_up_with_one_request(
    live_dashboard: Any,
) -> None:
    # A long interval: the only ticks are the ones this test provokes.
    live = live_dashboard(
        {"POLL_INTERVAL_MS": 600_000, "STALL_SECONDS": 3600}, start=False
    )
    service = live.service
    batch_id = service.create({"batchSize": 6}).batch["id"]
    finish(service, batch_id, 1, "hidden")
    live.open("/")
    duo = live.duo
    wait_for(lambda: progress(duo, batch_id) == 1, timeout=10)
    driver = duo.driver

    driver.execute_script(HIDE, True)
    before = live.count(UPDATE)
    finish(service, batch_id, 2, "while hidden")
    # What a stream event would do while the tab is hidden: nothing goes out.
    driver.execute_script(STREAM_EVENT)
    driver.execute_script(STREAM_EVENT)
    stats = "return window.dash_clientside.batch_dashboard.stats()"
    assert driver.execute_script(stats)["inFlight"] is False
    assert progress(duo, batch_id) == 1

    driver.execute_script(HIDE, False)
    wait_for(lambda: progress(duo, batch_id) == 3, timeout=10)
    assert live.count(UPDATE) == before + 1
