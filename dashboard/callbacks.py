"""Callbacks, grouped by feature; each reads through the service and hands
the work to the pure builders in ``cards``, ``layout`` and ``figures``."""

from __future__ import annotations

import logging
import re
from typing import Any

from dash import (
    ALL,
    ClientsideFunction,
    Dash,
    Input,
    Output,
    Patch,
    State,
    ctx,
    no_update,
)
from dash.exceptions import PreventUpdate

from batch_dashboard.service import BatchService, NotFound, ServiceError, status_view
from dashboard import ids
from dashboard.cards import (
    CHIPS_PAGE,
    TICK_PROPS,
    card_live,
    card_state,
    card_update,
    chip,
    more_text,
)
from dashboard.figures import rate_figure, status_figure
from dashboard.layout import (
    build_detail,
    build_grid,
    build_home,
    build_missing,
    detail_figures,
    detail_header,
    detail_stats,
    joke_meta,
    overview_tiles,
    page_info,
)
from dashboard.view_state import PAGE_SIZE, View, page_query, parse_view, view_search
from db import analytics
from db.timeutil import isoformat, utcnow

logger = logging.getLogger(__name__)

DETAIL_PATH = re.compile(r"^/batches/([A-Za-z0-9_\-]{1,64})/?$")
# The overview strip is recomputed at most this often, and only on a change.
OVERVIEW_SECONDS = 10.0


def register_callbacks(app: Dash, service: BatchService) -> None:
    settings = service.settings
    engine = service.batches.engine
    stall = float(settings.stall_seconds)

    # -- routing --------------------------------------------------------------

    @app.callback(
        Output(ids.PAGE, "children"),
        Input(ids.URL, "pathname"),
        State(ids.URL, "search"),
    )
    def route(pathname: str | None, search: str | None) -> Any:
        now = utcnow()
        match = DETAIL_PATH.match(pathname or "/")
        if match:
            batch_id = match.group(1)
            try:
                status = status_view(service.get(batch_id))
            except NotFound:
                return build_missing(batch_id)
            timings = analytics.item_timings(engine, batch_id)
            return build_detail(status, timings, now, settings.poll_interval_ms)

        return build_home(
            parse_view(search),
            analytics.overview(engine, now),
            service.enabled,
            settings.max_batch_size,
            settings.poll_interval_ms,
            now.timestamp(),
        )

    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="page"),
        Output(ids.PAGE_SEEN, "data"),
        Input(ids.URL, "pathname"),
    )

    # -- finding a batch: controls write the URL, the URL drives the grid ------

    @app.callback(
        Output(ids.URL, "search"),
        Input(ids.SORT, "value"),
        Input(ids.STATUS_FILTER, "value"),
        Input(ids.TEXT_FILTER, "value"),
        Input(ids.CREATED_FILTER, "value"),
        Input(ids.PAGE_PREV, "n_clicks"),
        Input(ids.PAGE_NEXT, "n_clicks"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def write_view(
        sort: str,
        statuses: list[str] | None,
        text: str | None,
        created: str,
        _prev: int | None,
        _next: int | None,
        search: str | None,
    ) -> str:
        current = parse_view(search)
        trigger = ctx.triggered_id
        if trigger == ids.PAGE_PREV:
            view = current.with_page(current.page - 1)
        elif trigger == ids.PAGE_NEXT:
            view = current.with_page(current.page + 1)
        else:
            view = parse_view(
                view_search(
                    View(
                        sort=sort or "newest",
                        statuses=tuple(statuses or ()),
                        text=(text or "").strip(),
                        created=created or "any",
                    )
                )
            )
        new = view_search(view)
        if new == (search or ""):
            raise PreventUpdate
        return new

    @app.callback(
        Output(ids.GRID, "children"),
        Output(ids.RESULT_COUNT, "children"),
        Output(ids.PAGE_INFO, "children"),
        Output(ids.PAGE_PREV, "disabled"),
        Output(ids.PAGE_NEXT, "disabled"),
        Output(ids.POLL, "disabled"),
        Output(ids.GRID_META, "data"),
        Input(ids.URL, "search"),
        Input(ids.REFRESH, "data"),
    )
    def render_grid(search: str | None, _refresh: Any) -> Any:
        now = utcnow()
        view = parse_view(search)
        found = analytics.page(engine, page_query(view, now), now)
        statuses = [status_view(row) for row in found.rows]
        count, pages, no_prev, no_next = page_info(view, found.total, PAGE_SIZE)
        newest = analytics.newest_created_at(engine)
        live = any(s["status"] in ("queued", "in_progress") for s in statuses)
        return (
            build_grid(statuses, now, stall),
            count,
            pages,
            no_prev,
            no_next,
            not live,
            {"newest": isoformat(newest), "at": now.timestamp()},
        )

    # -- creating -------------------------------------------------------------

    @app.callback(
        Output(ids.CREATE_MESSAGE, "children"),
        Output(ids.CREATE_MESSAGE, "className"),
        Output(ids.REFRESH, "data", allow_duplicate=True),
        Input(ids.CREATE_BUTTON, "n_clicks"),
        State(ids.BATCH_SIZE, "value"),
        State(ids.BATCH_PROMPTS, "value"),
        State(ids.REFRESH, "data"),
        prevent_initial_call=True,
    )
    def create(_: int, size: Any, prompts: str | None, refresh: int | None) -> Any:
        lines = [line for line in (prompts or "").splitlines() if line.strip()]
        body: dict[str, Any] = {"prompts": lines}
        if size not in (None, ""):
            body["batchSize"] = size
        try:
            created = service.create(body)
        except ServiceError as exc:
            return exc.message, "message error", no_update

        batch_id = created.batch["id"]
        logger.info("batch %s created from the dashboard", batch_id)
        return f"Created {batch_id}", "message ok", (refresh or 0) + 1

    # -- the live loop: the gate in batch_dashboard.js decides when to tick ---

    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="gate"),
        Output(ids.TICK, "data"),
        Input(ids.POLL, "n_intervals"),
        Input(ids.LIVE, "data"),
        State(ids.POLL, "interval"),
        prevent_initial_call=True,
    )
    # The answer goes back to the gate through its own store: a callback
    # from the answer to the tick would be a cycle Dash does not run.
    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="ack"),
        Output(ids.ACK_SEEN, "data"),
        Input(ids.ACK, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="stream"),
        Output(ids.STREAM_STATE, "data"),
        Input(ids.POLL, "disabled"),
    )

    tick_outputs = [
        Output({"type": kind, "id": ALL}, prop, allow_duplicate=True)
        for kind, prop in TICK_PROPS
    ]

    @app.callback(
        *tick_outputs,
        Output(ids.POLL, "disabled", allow_duplicate=True),
        Output(ids.ACK, "data"),
        Output(ids.REFRESH, "data", allow_duplicate=True),
        Output(ids.OVERVIEW_TILES, "children"),
        Output(ids.OVERVIEW_STATUS_CHART, "figure"),
        Output(ids.OVERVIEW_RATE_CHART, "figure"),
        Output(ids.OVERVIEW_STATE, "data"),
        Input(ids.TICK, "data"),
        State({"type": ids.CARD_STATE, "id": ALL}, "data"),
        State(ids.GRID_META, "data"),
        State(ids.OVERVIEW_STATE, "data"),
        State(ids.REFRESH, "data"),
        prevent_initial_call=True,
    )
    def tick(
        tick_data: dict[str, Any] | None,
        states: list[dict[str, Any]],
        meta: dict[str, Any] | None,
        overview_state: dict[str, Any] | None,
        refresh: int | None,
    ) -> Any:
        n = (tick_data or {}).get("n")
        card_ids = [spec["id"]["id"] for spec in ctx.states_list[0]]
        specs = ctx.outputs_list[: len(TICK_PROPS)]
        try:
            return _tick(
                n,
                dict(zip(card_ids, states, strict=True)),
                specs,
                meta,
                overview_state,
                refresh,
            )
        except Exception:
            logger.exception("dashboard poll tick %s failed", n)
            skip = [[no_update] * len(spec) for spec in specs]
            return (*skip, no_update, {"n": n, "ok": False}, *[no_update] * 5)

    def _tick(
        n: Any,
        states: dict[str, dict[str, Any]],
        specs: list[list[dict[str, Any]]],
        meta: dict[str, Any] | None,
        overview_state: dict[str, Any] | None,
        refresh: int | None,
    ) -> Any:
        now = utcnow()
        heads = analytics.heads(engine, list(states))
        changed = [i for i, head in heads.items() if head["version"] != states[i]["v"]]
        statuses = {
            row["id"]: status_view(row) for row in service.batches.get_many(changed)
        }
        # An unchanged active card may still become paused: its head says so.
        for batch_id, head in heads.items():
            if batch_id not in statuses and head["status"] in ("queued", "in_progress"):
                statuses[batch_id] = {
                    "batchId": batch_id,
                    "version": head["version"],
                    "status": head["status"],
                    "updatedAt": isoformat(head["updated_at"]),
                }

        updates: dict[str, dict[tuple[str, str], Any]] = {}
        live = False
        for batch_id, status in statuses.items():
            state = states[batch_id]
            updates[batch_id] = card_update(state, status, now, stall)
            live = live or card_live(status, state, now, stall)

        outputs = []
        for (kind, prop), spec in zip(TICK_PROPS, specs, strict=True):
            outputs.append(
                [
                    updates.get(s["id"]["id"], {}).get((kind, prop), no_update)
                    for s in spec
                ]
            )

        # A batch created since the grid was drawn (through the API, or another
        # tab) changes which cards belong on the page: redraw it once.
        newest = isoformat(analytics.newest_created_at(engine))
        new_batch = newest != (meta or {}).get("newest")
        refresh_out = (refresh or 0) + 1 if new_batch else no_update

        # The strip follows at most every OVERVIEW_SECONDS, and always on the
        # last tick before the page goes quiet, so it never stays stale.
        overview_out: list[Any] = [no_update] * 4
        last = (overview_state or {}).get("at", 0)
        due = now.timestamp() - last >= OVERVIEW_SECONDS
        if due or not live or new_batch:
            count, latest = analytics.last_change(engine)
            sig = [count, isoformat(latest)]
            if sig != (overview_state or {}).get("sig"):
                summary = analytics.overview(engine, now)
                overview_out = [
                    overview_tiles(summary),
                    status_figure(summary),
                    rate_figure(summary),
                    {"at": now.timestamp(), "sig": sig},
                ]

        return (
            *outputs,
            not live,
            {"n": n, "ok": True},
            refresh_out,
            *overview_out,
        )

    # -- per-card actions and chips ------------------------------------------
    # batch_dashboard.js turns clicks on chips, "more" and "resume" buttons
    # into one store each: callbacks with a wildcard input would also run
    # whenever a tick adds a chip or the grid adds a card.

    action_kinds = (
        (ids.CARD_STATE, "data"),
        (ids.STALL, "hidden"),
        (ids.CHIPS, "children"),
        (ids.MORE, "children"),
        (ids.MORE, "hidden"),
    )

    @app.callback(
        *[
            Output({"type": kind, "id": ALL}, prop, allow_duplicate=True)
            for kind, prop in action_kinds
        ],
        Output(ids.POLL, "disabled", allow_duplicate=True),
        Input(ids.CARD_ACTION, "data"),
        State({"type": ids.CARD_STATE, "id": ALL}, "data"),
        prevent_initial_call=True,
    )
    def card_action(action: dict[str, Any] | None, states: list[Any]) -> Any:
        if not action or action.get("action") not in ("more", "resume"):
            raise PreventUpdate
        card_ids = [spec["id"]["id"] for spec in ctx.states_list[0]]
        batch_id = str(action.get("id"))
        if batch_id not in card_ids:
            raise PreventUpdate
        state = states[card_ids.index(batch_id)]

        props: dict[tuple[str, str], Any]
        if action["action"] == "resume":
            props = {
                (ids.CARD_STATE, "data"): {
                    **state,
                    "r": utcnow().timestamp(),
                    "p": False,
                },
                (ids.STALL, "hidden"): True,
            }
            poll: Any = False
        else:
            props = _more_chips(batch_id, state)
            poll = no_update

        outputs = [
            [
                props.get((kind, prop), no_update)
                if spec["id"]["id"] == batch_id
                else no_update
                for spec in specs
            ]
            for (kind, prop), specs in zip(
                action_kinds, ctx.outputs_list[: len(action_kinds)], strict=True
            )
        ]
        return (*outputs, poll)

    def _more_chips(batch_id: str, state: dict[str, Any]) -> dict[Any, Any]:
        status = status_view(service.get(batch_id))
        limit = state["limit"] + CHIPS_PAGE
        fresh = status["createdIds"][state["n"] : limit]
        chips = Patch()
        chips.extend([chip(joke_id) for joke_id in fresh])
        shown = state["n"] + len(fresh)
        more = more_text(status["createdCount"], shown)
        new_state = card_state(status, shown, limit, state.get("r", 0), state["p"])
        # The tick compares versions; keep the old one so it still redraws
        # the counts when the batch moved on meanwhile.
        new_state["v"] = state["v"]
        return {
            (ids.CHIPS, "children"): chips,
            (ids.MORE, "children"): more,
            (ids.MORE, "hidden"): not more,
            (ids.CARD_STATE, "data"): new_state,
        }

    @app.callback(
        Output(ids.JOKE_PANEL, "hidden"),
        Output(ids.JOKE_TEXT, "children"),
        Output(ids.JOKE_META, "children"),
        Input(ids.JOKE_REQUEST, "data"),
        Input(ids.JOKE_CLOSE, "n_clicks"),
        prevent_initial_call=True,
    )
    def show_joke(request: dict[str, Any] | None, _close: int | None) -> Any:
        if ctx.triggered_id == ids.JOKE_CLOSE:
            return True, no_update, no_update
        if not request or not request.get("id"):
            raise PreventUpdate
        try:
            joke = service.joke(str(request["id"]))
        except NotFound:
            return False, "This joke is no longer stored.", []
        return False, joke["text"], joke_meta(joke)

    # -- the detail view: the same gate as the grid, on its own stores -------

    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="detailGate"),
        Output(ids.DETAIL_TICK, "data"),
        Input(ids.DETAIL_POLL, "n_intervals"),
        Input(ids.DETAIL_LIVE, "data"),
        State(ids.DETAIL_POLL, "interval"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="detailAck"),
        Output(ids.DETAIL_ACK_SEEN, "data"),
        Input(ids.DETAIL_ACK, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="batch_dashboard", function_name="detailStream"),
        Output(ids.DETAIL_STREAM, "data"),
        Input(ids.DETAIL_POLL, "disabled"),
        State(ids.DETAIL_STATE, "data"),
    )

    @app.callback(
        Output(ids.DETAIL_HEADER, "children"),
        Output(ids.DETAIL_STATS, "children"),
        Output(ids.DETAIL_ETA, "children"),
        Output(ids.CHART_TIMELINE, "figure"),
        Output(ids.CHART_THROUGHPUT, "figure"),
        Output(ids.CHART_LATENCY, "figure"),
        Output(ids.CHART_ATTEMPTS, "figure"),
        Output(ids.DETAIL_POLL, "disabled"),
        Output(ids.DETAIL_STATE, "data"),
        Output(ids.DETAIL_ACK, "data"),
        Input(ids.DETAIL_TICK, "data"),
        State(ids.DETAIL_STATE, "data"),
        prevent_initial_call=True,
    )
    def refresh_detail(tick_data: dict[str, Any] | None, state: dict[str, Any]) -> Any:
        n = (tick_data or {}).get("n")
        try:
            return _refresh_detail(state, {"n": n, "ok": True})
        except Exception:
            logger.exception("detail tick %s of batch %s failed", n, state["batchId"])
            return (*[no_update] * 9, {"n": n, "ok": False})

    def _refresh_detail(state: dict[str, Any], ack: dict[str, Any]) -> Any:
        batch_id = state["batchId"]
        heads = analytics.heads(engine, [batch_id])
        head = heads.get(batch_id)
        if head is None:
            return (*[no_update] * 7, True, no_update, ack)
        terminal = head["status"] not in ("queued", "in_progress")
        if head["version"] == state["v"]:
            # Charts are recomputed only when their data changed.
            return (*[no_update] * 7, terminal, no_update, ack)

        now = utcnow()
        status = status_view(service.get(batch_id))
        timings = analytics.item_timings(engine, batch_id)
        stats, eta = detail_stats(status, timings, now)
        return (
            detail_header(status),
            stats,
            eta,
            *detail_figures(timings),
            terminal,
            {"batchId": batch_id, "v": status["version"]},
            ack,
        )
