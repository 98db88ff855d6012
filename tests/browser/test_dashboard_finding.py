"""Sorting, filtering and paging in the browser; the view lives in the URL."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

from dashboard import ids
from tests.browser.mixed import finish, make_mixed
from tests.helpers import wait_for

pytestmark = pytest.mark.browser


def card_titles(duo: Any) -> list[str]:
    # Read in one script: the grid may be redrawn between two element reads.
    script = (
        "return Array.from(document.querySelectorAll('.card .card-title'))"
        ".map(e => e.textContent)"
    )
    return list(duo.driver.execute_script(script))


def choose(duo: Any, dropdown: str, label: str) -> None:
    duo.find_element(f"#{dropdown}").click()
    option = wait_for(
        lambda: next(
            (e for e in duo.find_elements(".dash-dropdown-option") if e.text == label),
            None,
        ),
        timeout=5,
    )
    option.click()


def test_sort_and_filters_write_the_url_and_survive_a_reload(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"STALL_SECONDS": 3600}, start=False)
    made = make_mixed(live.service)
    live.open("/")
    duo = live.duo
    wait_for(lambda: len(card_titles(duo)) == len(made), timeout=10)
    newest_first = card_titles(duo)

    choose(duo, ids.SORT, "Oldest first")
    wait_for(lambda: "sort=oldest" in duo.driver.current_url, timeout=10)
    wait_for(lambda: card_titles(duo) == newest_first[::-1], timeout=10)

    # Status filter: two statuses at once.
    for label in ("Completed", "Failed"):
        box = next(
            e
            for e in duo.find_elements(f"#{ids.STATUS_FILTER} label")
            if e.text == label
        )
        box.click()
    wait_for(lambda: "status=completed%2Cfailed" in duo.driver.current_url, timeout=10)
    wait_for(
        lambda: set(card_titles(duo)) == {made["completed"], made["failed"]},
        timeout=10,
    )

    # Text over ids and prompts, then a reload keeps every part of the view.
    search = duo.find_element(f"#{ids.TEXT_FILTER}")
    search.send_keys("space", Keys.ENTER)
    wait_for(lambda: "q=space" in duo.driver.current_url, timeout=10)
    wait_for(lambda: card_titles(duo) == [made["completed"]], timeout=10)
    url = duo.driver.current_url

    duo.driver.refresh()
    wait_for(lambda: card_titles(duo) == [made["completed"]], timeout=10)
    assert duo.driver.current_url == url
    assert duo.find_element(f"#{ids.TEXT_FILTER}").get_attribute("value") == "space"
    assert duo.find_element(f"#{ids.SORT}").text == "Oldest first"
    checked = [
        e.get_attribute("value")
        for e in duo.find_elements(f"#{ids.STATUS_FILTER} input")
        if e.is_selected()
    ]
    assert checked == ["completed", "failed"]
    assert duo.find_element(f"#{ids.RESULT_COUNT}").text == "1 batch"


def test_a_shared_link_opens_the_same_view_and_pages_keep_the_dom_small(
    live_dashboard: Any,
) -> None:
    live = live_dashboard({"STALL_SECONDS": 3600}, start=False)
    service = live.service
    ids_made = []
    for index in range(30):
        batch = service.create({"batchSize": 2, "prompts": [f"topic {index}"]})
        ids_made.append(batch.batch["id"])
    finish(service, ids_made[3], 2, "p")

    live.open("/?sort=-progress&page=1")
    duo = live.duo
    wait_for(lambda: len(card_titles(duo)) == 24, timeout=10)
    # The one finished batch leads when sorted by progress.
    assert card_titles(duo)[0] == ids_made[3]
    assert duo.find_element(f"#{ids.PAGE_INFO}").text == "Page 1 of 2"

    duo.find_element(f"#{ids.PAGE_NEXT}").click()
    wait_for(lambda: "page=2" in duo.driver.current_url, timeout=10)
    wait_for(lambda: len(card_titles(duo)) == 6, timeout=10)
    assert duo.find_element(f"#{ids.PAGE_NEXT}").get_attribute("disabled")

    live.open("/?status=completed")
    wait_for(lambda: card_titles(duo) == [ids_made[3]], timeout=10)
