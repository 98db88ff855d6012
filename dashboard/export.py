"""Export a batch's jokes as CSV or JSON: plain Flask routes beside the pages."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Flask, Response, abort

from batch_dashboard.service import BatchService, NotFound, joke_view, status_view

COLUMNS = ("id", "position", "text", "prompt", "provider", "createdAt", "attempts")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_rows(service: BatchService, batch_id: str) -> list[dict[str, Any]]:
    """The jokes a batch created, in order, with their position and attempts."""
    return [
        {**joke_view(joke), "position": joke["position"], "attempts": joke["attempts"]}
        for joke in service.jokes.for_batch(batch_id)
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return out.getvalue()


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def register_exports(server: Flask, service: BatchService) -> None:
    def batch_or_404(batch_id: str) -> dict[str, Any]:
        if not service.enabled:
            abort(404)
        try:
            return status_view(service.get(batch_id))
        except NotFound:
            abort(404)

    @server.get("/batches/<batch_id>/export.csv", endpoint="dashboard_export_csv")
    def export_csv(batch_id: str) -> Response:
        batch_or_404(batch_id)
        body = to_csv(export_rows(service, batch_id))
        return _download(body, "text/csv", f"{batch_id}.csv")

    @server.get("/batches/<batch_id>/export.json", endpoint="dashboard_export_json")
    def export_json(batch_id: str) -> Response:
        status = batch_or_404(batch_id)
        body = json.dumps(
            {"batch": status, "jokes": export_rows(service, batch_id)},
            ensure_ascii=False,
            indent=2,
        )
        return _download(body, "application/json", f"{batch_id}.json")
