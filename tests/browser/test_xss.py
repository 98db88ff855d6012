"""Text from users and providers is shown as text, never run as HTML, and the
dashboard's own form keeps working when the API token is set."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from dashboard import ids
from db import ItemState
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token"
SCRIPT = "<script>window.__xss=1</script>"
IMAGE = '<img src=x onerror="window.__xss=2">'
JOKE = (
    "Why did the tag escape? <script>window.__xss=3</script>"
    '<img src=x onerror="window.__xss=4"> It was never markup.'
)


def page_text(duo: Any) -> str:
    return str(duo.driver.find_element(By.TAG_NAME, "body").text)


def assert_nothing_ran(duo: Any) -> None:
    driver = duo.driver
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    assert (
        driver.execute_script("return document.querySelectorAll('img[onerror]').length")
        == 0
    )
    scripts = driver.execute_script(
        "return Array.from(document.scripts).map(s => s.textContent).join('\\n')"
    )
    assert "__xss" not in scripts


def test_script_in_a_prompt_and_a_joke_is_shown_as_text(
    make_app: Any, dash_duo: Any
) -> None:
    app = make_app({"API_TOKEN": TOKEN, "POLL_INTERVAL_MS": 500}, start=False)
    service = app.extensions["batch_dashboard"].service

    # A provider's joke with markup in it, stored the way a worker stores it.
    holder = service.create({"batchSize": 2, "prompts": ["markup"]}).batch["id"]
    item = service.batches.claim(holder)
    assert item is not None
    outcome = service.batches.record_joke(item, JOKE, "test", 1)
    assert outcome is not None and outcome.state == ItemState.CREATED
    joke_id = outcome.joke_id

    dash_duo.start_server(app.extensions["batch_dashboard_dash"])
    dash_duo.wait_for_element(f"#{ids.CREATE_BUTTON}", timeout=15)

    # The dashboard's own form, with the token set and none sent by the page.
    dash_duo.find_element(f"#{ids.BATCH_SIZE}").clear()
    dash_duo.find_element(f"#{ids.BATCH_SIZE}").send_keys("2")
    dash_duo.find_element(f"#{ids.BATCH_PROMPTS}").send_keys(f"{SCRIPT}\n{IMAGE}")
    dash_duo.find_element(f"#{ids.CREATE_BUTTON}").click()
    dash_duo.wait_for_contains_text(f"#{ids.CREATE_MESSAGE}", "batch_", timeout=15)
    created = [
        batch
        for batch in service.batches.summaries()
        if batch["prompts"] == [SCRIPT, IMAGE]
    ]
    assert len(created) == 1

    # The prompts appear literally on the page.
    wait_for(lambda: SCRIPT in page_text(dash_duo), timeout=20)
    assert IMAGE in page_text(dash_duo)
    assert_nothing_ran(dash_duo)

    # The joke appears literally when its chip is opened.
    chip = wait_for(
        lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, f'[title="{joke_id}"]'),
        timeout=20,
    )[0]
    chip.click()
    wait_for(lambda: JOKE in page_text(dash_duo), timeout=15)
    assert_nothing_ran(dash_duo)

    # The REST API itself still wants the token for the same write.
    refused = app.test_client().post("/api/jokes/batches", json={"batchSize": 1})
    assert refused.status_code == 401
