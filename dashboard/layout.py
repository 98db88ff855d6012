"""Build the page: the create form, the grid of batch cards, the poller."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from batch_dashboard.service import BatchService, status_view
from dashboard import ids

CHIPS_SHOWN = 20


def build_card(status: dict[str, Any]) -> html.Div:
    done = status["total"] - status["remaining"]
    percent = round(100 * done / status["total"]) if status["total"] else 0
    chips = [
        html.Button(joke_id, id={"type": ids.CHIP, "id": joke_id}, className="chip")
        for joke_id in status["createdIds"][:CHIPS_SHOWN]
    ]
    return html.Div(
        id=f"card-{status['batchId']}",
        className=f"card status-{status['status']}",
        children=[
            html.H3(status["batchId"]),
            html.Span(status["status"], className="badge"),
            html.Div(
                html.Div(className="bar", style={"width": f"{percent}%"}),
                className="progress",
                role="progressbar",
                **{"aria-valuenow": percent, "aria-valuemin": 0, "aria-valuemax": 100},
            ),
            html.P(
                f"created {len(status['createdIds'])} · remaining "
                f"{status['remaining']} · duplicates {status['duplicates']} · "
                f"failed {status['failed']}",
                className="counts",
            ),
            html.Div(chips, className="chips"),
        ],
    )


def build_grid(service: BatchService) -> list[html.Div]:
    return [build_card(status_view(row)) for row in service.batches.list(limit=100)]


def build_layout(service: BatchService) -> html.Div:
    if not service.enabled:
        form: Any = html.P(
            "The batch API is disabled on this server.", id=ids.API_DISABLED
        )
    else:
        form = html.Div(
            className="create-form",
            children=[
                html.Label("Batch size", htmlFor=ids.BATCH_SIZE),
                dcc.Input(id=ids.BATCH_SIZE, type="number", min=1, value=5),
                html.Label("Prompts, one per line", htmlFor=ids.BATCH_PROMPTS),
                dcc.Textarea(id=ids.BATCH_PROMPTS),
                html.Button("Create batch", id=ids.CREATE_BUTTON),
                html.Div(id=ids.CREATE_MESSAGE, role="status"),
            ],
        )

    return html.Div(
        [
            html.H1("Batch Status Dashboard"),
            form,
            html.Div(build_grid(service), id=ids.GRID, className="grid"),
            html.Div(id=ids.JOKE_PANEL),
            dcc.Interval(id=ids.POLL, interval=service.settings.poll_interval_ms),
        ]
    )
