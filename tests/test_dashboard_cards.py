"""Cards, the URL view and the tick's card updates, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dash import Patch

from dashboard import ids
from dashboard.cards import (
    CHIPS_PAGE,
    STATUS_LABELS,
    build_card,
    card_live,
    card_state,
    card_update,
    counts_text,
    is_stalled,
)
from dashboard.view_state import View, page_query, parse_view, view_search

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def status(**changes: Any) -> dict[str, Any]:
    base = {
        "batchId": "batch_0123456789abcdef",
        "total": 30,
        "remaining": 30,
        "createdIds": [],
        "createdCount": 0,
        "status": "queued",
        "startedAt": None,
        "completedAt": None,
        "error": None,
        "duplicates": 0,
        "failed": 0,
        "createdAt": "2026-01-01T11:59:00.000Z",
        "updatedAt": "2026-01-01T11:59:59.000Z",
        "version": 1,
        "prompts": ["cats"],
    }
    base.update(changes)
    if "createdIds" in changes:
        base["createdCount"] = len(changes["createdIds"])
    return base


def find(component: Any, kind: str) -> Any:
    """The first component under ``component`` whose id has type ``kind``."""
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(getattr(node, "id", None), dict) and node.id["type"] == kind:
            return node
        children = getattr(node, "children", None)
        if isinstance(children, list):
            stack.extend(children)
        elif children is not None and hasattr(children, "to_plotly_json"):
            stack.append(children)
    raise AssertionError(f"no {kind} in the card")


@pytest.mark.parametrize("name", sorted(STATUS_LABELS))
def test_every_status_has_a_text_badge_and_a_colour_class(name: str) -> None:
    card = build_card(status(status=name), NOW, 60)
    badge = find(card, ids.BADGE)
    assert badge.children == STATUS_LABELS[name]
    assert f"badge-{name}" in badge.className
    assert f"status-{name}" in card.className


def test_a_card_shows_the_first_twenty_chips_and_counts_the_rest() -> None:
    joke_ids = [f"joke_{i:016x}" for i in range(25)]
    card = build_card(
        status(createdIds=joke_ids, remaining=5, status="in_progress"), NOW, 60
    )
    chips = find(card, ids.CHIPS).children
    assert [c.id for c in chips] == [
        {"type": ids.CHIP, "id": j} for j in joke_ids[:CHIPS_PAGE]
    ]
    more = find(card, ids.MORE)
    assert more.children == "+5 more" and not more.hidden
    assert find(card, ids.PROGRESS).value == "25"
    assert find(card, ids.PROGRESS).max == "30"
    assert "25 of 30 done (83%)" in find(card, ids.COUNTS).children


def test_user_text_is_a_plain_string_child_never_markup() -> None:
    script = "<script>alert(1)</script>"
    card = build_card(status(prompts=[script], error=script), NOW, 60)
    assert find(card, ids.ERROR).children == script
    assert script in str(card.to_plotly_json())
    assert "dangerouslySetInnerHTML" not in str(card.to_plotly_json())


def test_an_unchanged_card_gets_no_update() -> None:
    current = status(status="in_progress", version=4)
    state = card_state(current, 0, CHIPS_PAGE, 0, False)
    assert card_update(state, current, NOW, 60) == {}


def test_a_changed_card_gets_only_its_changed_parts_and_new_chips() -> None:
    before = status(status="in_progress", version=4, createdIds=["joke_a"])
    state = card_state(before, 1, CHIPS_PAGE, 0, False)
    after = status(
        status="in_progress",
        version=6,
        createdIds=["joke_a", "joke_b", "joke_c"],
        remaining=27,
    )
    props = card_update(state, after, NOW, 60)

    assert (ids.BADGE, "children") not in props
    assert props[(ids.PROGRESS, "value")] == "3"
    chips = props[(ids.CHIPS, "children")]
    assert isinstance(chips, Patch)
    operations = chips.to_plotly_json()["operations"]
    assert [op["operation"] for op in operations] == ["Extend"]
    added = operations[0]["params"]["value"]
    assert [c.id["id"] for c in added] == ["joke_b", "joke_c"]
    assert props[(ids.CARD_STATE, "data")]["n"] == 3
    assert props[(ids.CARD_STATE, "data")]["v"] == 6


def test_a_status_change_redraws_the_badge_and_the_error() -> None:
    before = status(status="in_progress", version=4)
    state = card_state(before, 0, CHIPS_PAGE, 0, False)
    after = status(status="failed", version=5, error="every item failed")
    props = card_update(state, after, NOW, 60)
    assert props[(ids.BADGE, "children")] == "Failed"
    assert props[(ids.CARD, "className")] == "card status-failed"
    assert props[(ids.ERROR, "children")] == "every item failed"
    assert props[(ids.ERROR, "hidden")] is False


def test_a_batch_without_change_for_the_stall_time_is_paused_until_resumed() -> None:
    quiet = status(status="in_progress", updatedAt="2026-01-01T11:58:00.000Z")
    assert is_stalled(quiet, NOW, 60)
    assert not is_stalled(quiet, NOW, 600)
    assert not is_stalled(status(status="completed"), NOW + timedelta(hours=1), 60)

    state = card_state(quiet, 0, CHIPS_PAGE, 0, False)
    props = card_update(state, quiet, NOW, 60)
    assert props[(ids.STALL, "hidden")] is False
    assert not card_live(quiet, state, NOW, 60)

    resumed = {**state, "r": NOW.timestamp() - 1, "p": False}
    assert card_live(quiet, resumed, NOW, 60)


def test_counts_text_names_every_count() -> None:
    text = counts_text(
        status(remaining=3, createdIds=["a"], duplicates=1, failed=25, total=30)
    )
    for part in (
        "27 of 30 done",
        "1 created",
        "3 remaining",
        "1 duplicates",
        "25 failed",
    ):
        assert part in text


def test_the_view_round_trips_through_the_url_query() -> None:
    view = View(
        sort="duration",
        statuses=("queued", "failed"),
        text="cats & dogs",
        created="24h",
        page=3,
    )
    search = view_search(view)
    assert search.startswith("?sort=duration")
    assert parse_view(search) == view
    assert view_search(View()) == ""


@pytest.mark.parametrize(
    "search",
    ["?sort=sideways", "?status=bogus", "?page=-4", "?page=abc", "?created=1y", ""],
)
def test_a_malformed_query_falls_back_to_the_defaults(search: str) -> None:
    assert parse_view(search) == View()


def test_the_page_query_follows_the_view() -> None:
    query = page_query(View(created="1h", page=2, statuses=("failed",)), NOW, 24)
    assert query.offset == 24 and query.limit == 24
    assert query.created_from == NOW - timedelta(hours=1)
    assert query.statuses == ("failed",)
