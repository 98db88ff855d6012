"""Build the pages: the shell, the grid page at ``/``, a batch at ``/batches/<id>``.

Every function here is pure: it takes data (status dicts, an overview, item
timings) and returns components, so tests reach it without a browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.cards import STATUS_LABELS, aria, build_card, chip, status_label
from dashboard.figures import (
    attempts_figure,
    eta_seconds,
    format_seconds,
    latency_figure,
    rate_figure,
    status_figure,
    throughput_figure,
    timeline_figure,
)
from dashboard.view_state import CREATED_WINDOWS, View
from db.analytics import Overview

SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "-progress": "Most progress",
    "duration": "Longest running",
    "status": "Status",
}
CREATED_LABELS = {
    "any": "Any time",
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
}
DETAIL_CHIPS = 100
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}


def build_shell(enabled: bool = True) -> html.Div:
    """What every page shares: the location, the page slot, the joke panel."""
    banner = (
        []
        if enabled
        else [
            html.P(
                "The batch API is disabled on this server.",
                id=ids.API_DISABLED,
                className="banner",
                role="status",
            )
        ]
    )
    return html.Div(
        className="shell",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.PAGE_SEEN),
            dcc.Store(id=ids.JOKE_REQUEST),
            html.Header(
                className="top",
                children=[
                    dcc.Link("Batch Status Dashboard", href="/", className="brand"),
                    *banner,
                ],
            ),
            html.Main(id=ids.PAGE, className="page"),
            build_joke_panel(),
        ],
    )


def build_joke_panel() -> html.Aside:
    return html.Aside(
        id=ids.JOKE_PANEL,
        className="joke-panel",
        hidden=True,
        role="dialog",
        **aria(label="Joke details", live="polite"),
        children=[
            html.Div(
                className="joke-panel-head",
                children=[
                    html.H2("Joke"),
                    dcc.Clipboard(
                        target_id=ids.JOKE_TEXT,
                        id=ids.JOKE_COPY,
                        title="Copy the joke text",
                        className="copy",
                    ),
                    html.Button(
                        "Close",
                        id=ids.JOKE_CLOSE,
                        className="link",
                        **aria(label="Close the joke panel"),
                    ),
                ],
            ),
            html.P(id=ids.JOKE_TEXT, className="joke-text"),
            html.Dl(id=ids.JOKE_META, className="joke-meta"),
        ],
    )


def joke_meta(joke: dict[str, Any]) -> list[Any]:
    rows = [
        ("Id", joke["id"]),
        ("Provider", joke["provider"]),
        ("Prompt", joke["prompt"] or "none"),
        ("Created", joke["createdAt"]),
        ("Batch", joke["batchId"] or "none"),
    ]
    return [part for name, value in rows for part in (html.Dt(name), html.Dd(value))]


def _choice(label: str, id_: str, labels: dict[str, str], value: str) -> html.Div:
    """A labelled drop-down of fixed choices, ``labels`` by value."""
    return html.Div(
        className="field",
        children=[
            html.Label(label, htmlFor=id_),
            dcc.Dropdown(
                id=id_,
                options=[{"label": text, "value": key} for key, text in labels.items()],
                value=value,
                clearable=False,
                searchable=False,
            ),
        ],
    )


def build_form(enabled: bool, max_size: int) -> html.Section:
    if not enabled:
        return html.Section(
            className="panel create",
            children=html.P("Creating batches is switched off on this server."),
        )

    return html.Section(
        className="panel create",
        **aria(label="Create a batch"),
        children=[
            html.H2("New batch"),
            html.Div(
                className="field",
                children=[
                    html.Label(f"Batch size (1–{max_size})", htmlFor=ids.BATCH_SIZE),
                    # No min, max or step: the browser would turn a value out
                    # of range into an empty one, and the service's message
                    # about the real value would be lost.
                    dcc.Input(
                        id=ids.BATCH_SIZE,
                        type="number",
                        value=5,
                    ),
                ],
            ),
            html.Div(
                className="field grow",
                children=[
                    html.Label("Prompts, one per line", htmlFor=ids.BATCH_PROMPTS),
                    dcc.Textarea(id=ids.BATCH_PROMPTS, rows=2),
                ],
            ),
            html.Button("Create batch", id=ids.CREATE_BUTTON, className="primary"),
            html.Div(id=ids.CREATE_MESSAGE, role="status", className="message"),
        ],
    )


def build_finder(view: View) -> html.Section:
    """Sort and filters; their values come from, and go to, the URL query."""
    return html.Section(
        className="panel finder",
        **aria(label="Find a batch"),
        children=[
            html.Div(
                className="field",
                children=[
                    html.Label("Search id or prompt", htmlFor=ids.TEXT_FILTER),
                    dcc.Input(
                        id=ids.TEXT_FILTER,
                        type="search",
                        value=view.text,
                        debounce=True,
                        placeholder="id or prompt",
                    ),
                ],
            ),
            _choice("Sort by", ids.SORT, SORT_LABELS, view.sort),
            _choice(
                "Created",
                ids.CREATED_FILTER,
                {key: CREATED_LABELS[key] for key in CREATED_WINDOWS},
                view.created,
            ),
            html.Fieldset(
                className="field statuses",
                children=[
                    html.Legend("Status"),
                    dcc.Checklist(
                        id=ids.STATUS_FILTER,
                        options=[
                            {"label": label, "value": value}
                            for value, label in STATUS_LABELS.items()
                        ],
                        value=list(view.statuses),
                        inline=True,
                        className="checklist",
                    ),
                ],
            ),
        ],
    )


def overview_tiles(overview: Overview) -> list[html.Div]:
    def rate(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    total = sum(overview.by_status.values())
    active = overview.by_status.get("queued", 0) + overview.by_status.get(
        "in_progress", 0
    )
    last_hour = sum(count for _, count in overview.jokes_per_minute)
    tiles = [
        ("Batches", str(total)),
        ("Active", str(active)),
        ("Jokes, last hour", str(last_hour)),
        ("Duplicate rate", rate(overview.duplicate_rate)),
        ("Failure rate", rate(overview.failure_rate)),
        ("Duration p50", format_seconds(overview.duration_p50)),
        ("Duration p95", format_seconds(overview.duration_p95)),
    ]
    return [
        html.Div(
            className="tile",
            children=[html.Span(name, className="tile-name"), html.Strong(value)],
        )
        for name, value in tiles
    ]


def build_overview(overview: Overview, at: float) -> html.Section:
    return html.Section(
        id=ids.OVERVIEW,
        className="overview",
        **aria(label="All batches at a glance"),
        children=[
            html.Div(
                overview_tiles(overview), id=ids.OVERVIEW_TILES, className="tiles"
            ),
            dcc.Graph(
                id=ids.OVERVIEW_STATUS_CHART,
                figure=status_figure(overview),
                config={**GRAPH_CONFIG, "displayModeBar": False},
                className="mini-chart",
            ),
            dcc.Graph(
                id=ids.OVERVIEW_RATE_CHART,
                figure=rate_figure(overview),
                config={**GRAPH_CONFIG, "displayModeBar": False},
                className="mini-chart",
            ),
            dcc.Store(id=ids.OVERVIEW_STATE, data={"at": at, "sig": None}),
        ],
    )


def build_home(
    view: View,
    overview: Overview,
    enabled: bool,
    max_size: int,
    poll_ms: int,
    at: float,
) -> list[Any]:
    """The grid page; the grid itself is filled by its callback."""
    return [
        build_overview(overview, at),
        html.Div(
            className="controls",
            children=[build_form(enabled, max_size), build_finder(view)],
        ),
        html.Div(
            className="grid-head",
            children=[
                html.P(id=ids.RESULT_COUNT, className="result-count", role="status"),
                html.Nav(
                    className="pager",
                    **aria(label="Pages"),
                    children=[
                        html.Button("Previous", id=ids.PAGE_PREV, disabled=True),
                        html.Span(id=ids.PAGE_INFO),
                        html.Button("Next", id=ids.PAGE_NEXT, disabled=True),
                    ],
                ),
            ],
        ),
        html.Div(id=ids.GRID, className="grid", **aria(label="Batches")),
        dcc.Store(id=ids.GRID_META),
        dcc.Store(id=ids.REFRESH, data=0),
        dcc.Store(id=ids.TICK),
        dcc.Store(id=ids.ACK),
        dcc.Store(id=ids.ACK_SEEN),
        dcc.Store(id=ids.LIVE),
        dcc.Store(id=ids.STREAM_STATE),
        dcc.Store(id=ids.CARD_ACTION),
        dcc.Interval(id=ids.POLL, interval=poll_ms, disabled=True),
    ]


def build_grid(
    statuses: list[dict[str, Any]], now: datetime, stall_seconds: float
) -> list[Any]:
    if not statuses:
        return [
            html.P(
                "No batches match. Create one above, or clear the filters.",
                className="empty",
            )
        ]

    return [build_card(status, now, stall_seconds) for status in statuses]


def page_info(view: View, total: int, page_size: int) -> tuple[str, str, bool, bool]:
    """Result count, "page x of y", and whether previous and next are disabled."""
    pages = max(1, -(-total // page_size))
    noun = "batch" if total == 1 else "batches"
    return (
        f"{total} {noun}",
        f"Page {min(view.page, pages)} of {pages}",
        view.page <= 1,
        view.page >= pages,
    )


def detail_stats(
    status: dict[str, Any], timings: list[dict[str, Any]], now: datetime
) -> tuple[list[Any], str]:
    rows = [
        ("Status", status_label(status["status"])),
        ("Total", status["total"]),
        ("Created", status["createdCount"]),
        ("Remaining", status["remaining"]),
        ("Duplicates", status["duplicates"]),
        ("Failed", status["failed"]),
        ("Created at", status["createdAt"]),
        ("Started at", status["startedAt"] or "—"),
        ("Completed at", status["completedAt"] or "—"),
        ("Prompts", ", ".join(status["prompts"]) or "none"),
    ]
    if status["error"]:
        rows.append(("Error", status["error"]))
    items = [
        part for name, value in rows for part in (html.Dt(name), html.Dd(str(value)))
    ]
    eta = eta_seconds(status, timings, now)
    if status["status"] == "in_progress":
        eta_text = (
            f"ETA {format_seconds(eta)} at the measured rate"
            if eta is not None
            else "ETA: measuring the rate"
        )
    elif status["status"] == "queued":
        eta_text = "ETA: waiting for the first item to start"
    else:
        eta_text = f"Finished: {status_label(status['status']).lower()}"
    return items, eta_text


def detail_figures(timings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        timeline_figure(timings),
        throughput_figure(timings),
        latency_figure(timings),
        attempts_figure(timings),
    ]


def detail_header(status: dict[str, Any]) -> list[Any]:
    return [
        html.H1(status["batchId"]),
        html.Span(
            status_label(status["status"]),
            className=f"badge badge-{status['status']}",
        ),
    ]


def build_detail(
    status: dict[str, Any],
    timings: list[dict[str, Any]],
    now: datetime,
    poll_ms: int,
) -> list[Any]:
    batch_id = status["batchId"]
    stats, eta_text = detail_stats(status, timings, now)
    charts = zip(
        (
            ids.CHART_TIMELINE,
            ids.CHART_THROUGHPUT,
            ids.CHART_LATENCY,
            ids.CHART_ATTEMPTS,
        ),
        detail_figures(timings),
        strict=True,
    )
    terminal = status["status"] not in ("queued", "in_progress")
    shown = status["createdIds"][:DETAIL_CHIPS]
    hidden_count = status["createdCount"] - len(shown)
    return [
        html.Div(
            id=ids.DETAIL,
            className="detail",
            children=[
                dcc.Link("← All batches", href="/", className="back"),
                html.Div(
                    detail_header(status), id=ids.DETAIL_HEADER, className="detail-head"
                ),
                html.Div(
                    className="exports",
                    children=[
                        html.A(
                            "Export CSV",
                            id=ids.EXPORT_CSV,
                            href=f"/batches/{batch_id}/export.csv",
                            download=f"{batch_id}.csv",
                            className="button",
                        ),
                        html.A(
                            "Export JSON",
                            id=ids.EXPORT_JSON,
                            href=f"/batches/{batch_id}/export.json",
                            download=f"{batch_id}.json",
                            className="button",
                        ),
                    ],
                ),
                html.P(eta_text, id=ids.DETAIL_ETA, className="eta", role="status"),
                html.Dl(stats, id=ids.DETAIL_STATS, className="stats"),
                html.Div(
                    className="charts",
                    children=[
                        html.Div(
                            dcc.Graph(
                                id=chart_id,
                                figure=fig,
                                config=GRAPH_CONFIG,
                                style={"height": "320px"},
                            ),
                            className="chart",
                        )
                        for chart_id, fig in charts
                    ],
                ),
                html.H2("Jokes"),
                html.Div(
                    [chip(joke_id) for joke_id in shown],
                    className="chips",
                    **aria(label=f"Jokes of {batch_id}"),
                ),
                html.P(
                    f"and {hidden_count} more: export the batch to see them all",
                    hidden=hidden_count <= 0,
                    className="more-note",
                ),
                dcc.Store(
                    id=ids.DETAIL_STATE,
                    data={"batchId": batch_id, "v": status["version"]},
                ),
                dcc.Interval(id=ids.DETAIL_POLL, interval=poll_ms, disabled=terminal),
                dcc.Store(id=ids.DETAIL_TICK),
                dcc.Store(id=ids.DETAIL_ACK),
                dcc.Store(id=ids.DETAIL_ACK_SEEN),
                dcc.Store(id=ids.DETAIL_LIVE),
                dcc.Store(id=ids.DETAIL_STREAM),
            ],
        )
    ]


def build_missing(batch_id: str) -> list[Any]:
    return [
        html.Div(
            id=ids.DETAIL,
            className="detail",
            children=[
                dcc.Link("← All batches", href="/", className="back"),
                html.H1("No such batch"),
                html.P(f"There is no batch '{batch_id}'.", className="empty"),
            ],
        )
    ]
