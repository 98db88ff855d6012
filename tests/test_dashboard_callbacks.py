"""Dashboard callbacks through POST /_dash-update-component, and the exports."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask

from batch_dashboard.service import status_view
from dashboard import ids
from dashboard.cards import CHIPS_PAGE, card_state
from tests.dash_calls import find_callback, payload


def advance(app: Flask, batch_id: str, text: str) -> str:
    """Finish one item of ``batch_id`` with ``text``, as a worker would."""
    store = app.extensions["batch_dashboard"].service.batches
    item = store.claim(batch_id)
    assert item is not None
    outcome = store.record_joke(item, text, "test", 1)
    assert outcome is not None and outcome.joke_id
    return str(outcome.joke_id)


def tick(app: Flask, batch_ids: list[str], states: list[dict[str, Any]]) -> Any:
    client = app.test_client()
    dependency = find_callback(client.get("/_dash-dependencies").json, "poll-ack.data")
    body = payload(
        dependency,
        {
            f"{ids.TICK}.data": {"n": 1},
            f"{ids.CARD_STATE}.data": states,
            f"{ids.GRID_META}.data": {"newest": None},
            f"{ids.OVERVIEW_STATE}.data": {"at": 0, "sig": None},
            f"{ids.REFRESH}.data": 0,
        },
        matches=batch_ids,
        changed=[f"{ids.TICK}.data"],
    )
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def test_a_tick_sends_only_the_card_that_changed(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_ids = [service.create({"batchSize": 3}).batch["id"] for _ in range(3)]
    states = [
        card_state(status_view(service.get(b)), 0, CHIPS_PAGE, 0, False)
        for b in batch_ids
    ]
    joke_id = advance(app, batch_ids[1], "A unique joke for the tick test.")

    response = tick(app, batch_ids, states)

    card_keys = [key for key in response if key.startswith("{")]
    assert card_keys and all(batch_ids[1] in key for key in card_keys)
    chips = next(v for k, v in response.items() if ids.CHIPS in k)["children"]
    assert joke_id in str(chips) and "Extend" in str(chips)
    assert response[ids.ACK]["data"] == {"n": 1, "ok": True}
    assert response[ids.POLL]["disabled"] is False
    # The overview strip was due, so it came along once.
    assert ids.OVERVIEW_TILES in response


def test_a_tick_with_nothing_changed_touches_no_card(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_ids = [service.create({"batchSize": 2}).batch["id"] for _ in range(2)]
    states = [
        card_state(status_view(service.get(b)), 0, CHIPS_PAGE, 0, False)
        for b in batch_ids
    ]

    response = tick(app, batch_ids, states)

    assert not [key for key in response if key.startswith("{")]
    assert response[ids.ACK]["data"]["ok"] is True


def test_the_grid_callback_renders_the_page_the_url_asks_for(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    cats = service.create({"prompts": ["cats"]}).batch["id"]
    service.create({"prompts": ["dogs"]})
    client = app.test_client()
    dependency = find_callback(client.get("/_dash-dependencies").json, "grid-meta")
    body = payload(
        dependency,
        {f"{ids.URL}.search": "?q=cats", f"{ids.REFRESH}.data": 0},
        changed=[f"{ids.URL}.search"],
    )
    response = client.post("/_dash-update-component", json=body).get_json()["response"]

    grid = str(response[ids.GRID]["children"])
    assert cats in grid and "dogs" not in grid
    assert response[ids.RESULT_COUNT]["children"] == "1 batch"
    assert response[ids.POLL]["disabled"] is False


def test_exports_give_every_joke_of_a_batch_as_csv_and_json(make_app: Any) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_id = service.create({"batchSize": 3, "prompts": ["=cmd"]}).batch["id"]
    joke_ids = [advance(app, batch_id, f"Joke number {i}, told once.") for i in (1, 2)]
    client = app.test_client()

    as_csv = client.get(f"/batches/{batch_id}/export.csv")
    assert as_csv.status_code == 200
    assert as_csv.mimetype == "text/csv"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [row["id"] for row in rows] == joke_ids
    assert rows[0]["text"] == "Joke number 1, told once."
    # A prompt that a spreadsheet would run as a formula is defused.
    assert rows[0]["prompt"] == "'=cmd"

    as_json = client.get(f"/batches/{batch_id}/export.json").get_json()
    assert as_json["batch"]["batchId"] == batch_id
    assert [joke["id"] for joke in as_json["jokes"]] == joke_ids
    assert as_json["jokes"][1]["prompt"] == "=cmd"

    assert client.get("/batches/batch_nope/export.csv").status_code == 404


def test_exports_are_hidden_when_the_batch_api_is_off(make_app: Any) -> None:
    app = make_app({"FEATURE_BATCHES_V2": "off"}, start=False)
    assert app.test_client().get("/batches/batch_x/export.json").status_code == 404


def test_the_detail_view_is_not_redrawn_while_its_batch_is_unchanged(
    make_app: Any,
) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_id = service.create({"batchSize": 2}).batch["id"]
    version = service.get(batch_id)["version"]
    client = app.test_client()
    dependency = find_callback(client.get("/_dash-dependencies").json, "detail-state")

    def refresh() -> dict[str, Any]:
        body = payload(
            dependency,
            {
                f"{ids.DETAIL_TICK}.data": {"n": 1},
                f"{ids.DETAIL_STATE}.data": {"batchId": batch_id, "v": version},
            },
            changed=[f"{ids.DETAIL_TICK}.data"],
        )
        return client.post("/_dash-update-component", json=body).get_json()["response"]

    assert set(refresh()) == {ids.DETAIL_POLL, ids.DETAIL_ACK}

    advance(app, batch_id, "A joke that changes the batch.")
    redrawn = refresh()
    assert ids.CHART_LATENCY in redrawn and ids.CHART_TIMELINE in redrawn
    assert redrawn[ids.DETAIL_STATE]["data"]["v"] > version


def test_a_tick_that_fails_answers_not_ok_so_the_page_backs_off(
    make_app: Any, caplog: Any
) -> None:
    app = make_app(start=False)
    service = app.extensions["batch_dashboard"].service
    batch_id = service.create({"batchSize": 2}).batch["id"]

    # A card state the server cannot read stands in for any failure.
    response = tick(app, [batch_id], [{"broken": True}])

    assert response[ids.ACK]["data"] == {"n": 1, "ok": False}
    assert not [key for key in response if key.startswith("{")]
    assert ids.POLL not in response
    assert "poll tick 1 failed" in caplog.text
