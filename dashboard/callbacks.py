"""Callbacks: thin wrappers over the batch service."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update

from batch_dashboard.service import BatchService, ServiceError
from dashboard import ids
from dashboard.layout import build_grid


def register_callbacks(app: Dash, service: BatchService) -> None:
    @app.callback(
        Output(ids.CREATE_MESSAGE, "children"),
        Input(ids.CREATE_BUTTON, "n_clicks"),
        State(ids.BATCH_SIZE, "value"),
        State(ids.BATCH_PROMPTS, "value"),
        prevent_initial_call=True,
    )
    def create(_: int, size: Any, prompts: str | None) -> str:
        lines = [line for line in (prompts or "").splitlines() if line.strip()]
        try:
            created = service.create({"batchSize": size, "prompts": lines})
        except ServiceError as exc:
            return exc.message
        return f"Created {created.batch['id']}"

    @app.callback(Output(ids.GRID, "children"), Input(ids.POLL, "n_intervals"))
    def refresh(_: int) -> Any:
        return build_grid(service)

    @app.callback(
        Output(ids.JOKE_PANEL, "children"),
        Input({"type": ids.CHIP, "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def show_joke(_: list[int]) -> Any:
        if not ctx.triggered_id:
            return no_update
        return service.joke(ctx.triggered_id["id"])["text"]
