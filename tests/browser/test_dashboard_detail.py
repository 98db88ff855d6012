"""The detail view with its charts and exports, and the chip panel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

from dashboard import ids
from tests.browser.mixed import finish
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t])));
"""


def card(batch_id: str) -> str:
    return f'[id*=\'"type":"{ids.CARD}"\'][id*=\'"{batch_id}"\']'


def test_the_detail_view_shows_its_charts_and_exports_the_jokes(
    live_dashboard: Any,
) -> None:
    live = live_dashboard(start=False)
    service = live.service
    batch_id = service.create({"batchSize": 12, "prompts": ["cats"]}).batch["id"]
    joke_ids = finish(service, batch_id, 9, "detail")
    live.open("/")
    duo = live.duo

    duo.wait_for_element(f"{card(batch_id)} .card-title", timeout=10).click()
    wait_for(lambda: duo.driver.current_url.endswith(f"/batches/{batch_id}"), 10)
    duo.wait_for_element(f"#{ids.DETAIL}", timeout=10)
    for chart in (ids.CHART_TIMELINE, ids.CHART_THROUGHPUT, ids.CHART_LATENCY):
        duo.wait_for_element(f"#{chart} .main-svg", timeout=15)
    duo.wait_for_element(f"#{ids.CHART_ATTEMPTS} .main-svg", timeout=15)
    latency_title = duo.find_element(f"#{ids.CHART_LATENCY} .gtitle").text
    assert "p50" in latency_title and "p95" in latency_title
    # Three items are still pending: the view has a measured rate to go on.
    assert "ETA" in duo.find_element(f"#{ids.DETAIL_ETA}").text
    stats = duo.find_element(f"#{ids.DETAIL_STATS}").text
    assert "Remaining\n3" in stats and "Created\n9" in stats

    # Reachable directly, too.
    live.open(f"/batches/{batch_id}")
    duo.wait_for_element(f"#{ids.CHART_LATENCY} .main-svg", timeout=15)

    csv_href = duo.find_element(f"#{ids.EXPORT_CSV}").get_attribute("href")
    json_href = duo.find_element(f"#{ids.EXPORT_JSON}").get_attribute("href")
    status, text = duo.driver.execute_async_script(FETCH, csv_href)
    assert status == 200
    lines = text.strip().splitlines()
    assert lines[0].startswith("id,position,text")
    assert [line.split(",")[0] for line in lines[1:]] == joke_ids
    status, text = duo.driver.execute_async_script(FETCH, json_href)
    assert status == 200
    assert [j["id"] for j in json.loads(text)["jokes"]] == joke_ids


def test_an_unknown_batch_gets_a_page_that_says_so(live_dashboard: Any) -> None:
    live = live_dashboard(start=False, path="/batches/batch_nope")
    live.duo.wait_for_contains_text(f"#{ids.DETAIL}", "No such batch", timeout=10)


def test_chips_page_in_on_demand_and_open_a_panel_with_the_joke(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"STALL_SECONDS": 3600}, start=False)
    service = live.service
    batch_id = service.create({"batchSize": 30, "prompts": ["space"]}).batch["id"]
    joke_ids = finish(service, batch_id, 26, "chips")
    live.open("/")
    duo = live.duo
    chips = f"{card(batch_id)} .chip"
    wait_for(lambda: len(duo.find_elements(chips)) == 20, timeout=10)
    more = duo.find_element(f"{card(batch_id)} .more")
    assert more.text == "+6 more"

    more.click()
    wait_for(lambda: len(duo.find_elements(chips)) == 26, timeout=10)
    wait_for(lambda: not duo.find_element(f"{card(batch_id)} .more").is_displayed(), 5)
    shown = [e.get_attribute("title") for e in duo.find_elements(chips)]
    assert shown == joke_ids

    # A chip is reached and opened from the keyboard.
    target = duo.find_elements(chips)[22]
    duo.driver.execute_script("arguments[0].focus()", target)
    assert duo.driver.switch_to.active_element == target
    target.send_keys(Keys.ENTER)
    joke = service.joke(joke_ids[22])
    duo.wait_for_text_to_equal(f"#{ids.JOKE_TEXT}", joke["text"], timeout=10)
    meta = duo.find_element(f"#{ids.JOKE_META}").text
    assert "offline" in meta and "space" in meta and joke["createdAt"] in meta
    assert duo.find_element(f"#{ids.JOKE_COPY}").is_displayed()

    # Focus moved into the panel; Escape closes it and returns to the chip.
    wait_for(
        lambda: (
            duo.driver.switch_to.active_element.get_attribute("id") == ids.JOKE_CLOSE
        ),
        timeout=5,
    )
    duo.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(lambda: not duo.find_element(f"#{ids.JOKE_PANEL}").is_displayed(), 5)
    assert duo.driver.switch_to.active_element == target

    duo.find_elements(chips)[0].click()
    duo.wait_for_text_to_equal(
        f"#{ids.JOKE_TEXT}", service.joke(joke_ids[0])["text"], timeout=10
    )
    duo.find_element(f"#{ids.JOKE_CLOSE}").click()
    wait_for(lambda: not duo.find_element(f"#{ids.JOKE_PANEL}").is_displayed(), 5)


def test_the_detail_view_of_a_running_batch_follows_it_to_the_end(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"PROVIDER_DELAY": 0.25, "WORKERS": 1})
    batch_id = live.service.create({"batchSize": 8}).batch["id"]
    live.open(f"/batches/{batch_id}")
    duo = live.duo
    duo.wait_for_element(f"#{ids.DETAIL_STATS}", timeout=10)
    duo.driver.execute_script("window.__sameDocument = true")

    duo.wait_for_contains_text(f"#{ids.DETAIL_ETA}", "Finished", timeout=30)
    assert "Remaining\n0" in duo.find_element(f"#{ids.DETAIL_STATS}").text
    assert "Created\n8" in duo.find_element(f"#{ids.DETAIL_STATS}").text
    assert duo.driver.execute_script("return window.__sameDocument === true")
    stats = "return window.dash_clientside.batch_dashboard.detailStats()"
    assert duo.driver.execute_script(stats)["streamsOpened"] >= 1
    assert live.count(f"/api/jokes/batches/{batch_id}/events") >= 1
