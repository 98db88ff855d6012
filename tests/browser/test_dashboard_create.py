"""Issue-2 path in a real browser: create, watch it complete, read a joke."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from dashboard import ids
from tests.helpers import wait_for

pytestmark = pytest.mark.browser


def card_selector(batch_id: str) -> str:
    return f'[id*=\'"type":"{ids.CARD}"\'][id*=\'"{batch_id}"\']'


def test_a_batch_created_in_the_form_completes_and_shows_its_jokes(
    live_dashboard: Any,
) -> None:
    live = live_dashboard()
    duo = live.duo
    # The grid's count is drawn once the page's callbacks are all wired.
    duo.wait_for_contains_text(f"#{ids.RESULT_COUNT}", "batches", timeout=15)

    size = duo.find_element(f"#{ids.BATCH_SIZE}")
    size.clear()
    size.send_keys("5")
    duo.find_element(f"#{ids.BATCH_PROMPTS}").send_keys("cats\ncomputers")
    duo.find_element(f"#{ids.CREATE_BUTTON}").click()
    duo.wait_for_contains_text(f"#{ids.CREATE_MESSAGE}", "Created batch_", timeout=10)
    batch_id = duo.find_element(f"#{ids.CREATE_MESSAGE}").text.split()[-1]

    card = card_selector(batch_id)
    duo.wait_for_contains_text(f"{card} .badge", "Completed", timeout=20)
    chips = wait_for(
        lambda: (
            (found := duo.find_elements(f"{card} .chip")) and len(found) == 5 and found
        ),
        timeout=10,
    )
    assert "5 of 5 done" in duo.find_element(f"{card} .counts").text

    joke_id = chips[2].get_attribute("title")
    chips[2].click()
    expected = live.service.joke(joke_id)["text"]
    duo.wait_for_text_to_equal(f"#{ids.JOKE_TEXT}", expected, timeout=10)
    assert duo.driver.find_element(By.ID, ids.JOKE_PANEL).is_displayed()
    assert not [
        entry for entry in duo.get_logs() or [] if entry.get("level") == "SEVERE"
    ]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "greater than or equal to 1"),
        ("-3", "greater than or equal to 1"),
        ("1001", "at most 1000"),
        ("2.5", "valid integer"),
    ],
)
def test_the_form_says_what_is_wrong_with_a_size(
    live_dashboard: Any, typed: str, message: str
) -> None:
    live = live_dashboard(start=False)
    duo = live.duo
    duo.wait_for_contains_text(f"#{ids.RESULT_COUNT}", "batches", timeout=15)

    size = duo.find_element(f"#{ids.BATCH_SIZE}")
    size.clear()
    size.send_keys(typed)
    duo.find_element(f"#{ids.CREATE_BUTTON}").click()

    duo.wait_for_contains_text(f"#{ids.CREATE_MESSAGE}", message, timeout=10)
    assert live.service.batches.count() == 0
