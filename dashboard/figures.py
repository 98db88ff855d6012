"""Charts as plain figure dicts, all on one template; pure functions of data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from db.analytics import Overview, percentile

# Colours that read on a light and on a dark page: the page, not the chart,
# follows the system's colour scheme, so the chart itself stays transparent.
COLOURS = {
    "created": "#2f9e44",
    "duplicate": "#e67700",
    "failed": "#e03131",
    "queued": "#868e96",
    "in_progress": "#1c7ed6",
    "completed": "#2f9e44",
    "cancelled": "#ae3ec9",
    "accent": "#1c7ed6",
}

TEMPLATE: dict[str, Any] = go.layout.Template(
    layout={
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#7d8794"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 44, "r": 12, "t": 36, "b": 36},
        "title": {"font": {"size": 14}, "x": 0, "xanchor": "left"},
        "xaxis": {"gridcolor": "rgba(128,128,128,0.2)", "zeroline": False},
        "yaxis": {"gridcolor": "rgba(128,128,128,0.2)", "zeroline": False},
        "legend": {"orientation": "h", "y": -0.2},
        "colorway": [COLOURS["accent"], COLOURS["duplicate"], COLOURS["failed"]],
        "hovermode": "x unified",
    }
).to_plotly_json()


def figure(data: list[dict[str, Any]], title: str, **layout: Any) -> dict[str, Any]:
    return {
        "data": data,
        "layout": {"template": TEMPLATE, "title": {"text": title}, **layout},
    }


def empty_figure(title: str, message: str) -> dict[str, Any]:
    """A chart with no data yet: a centred note instead of empty axes."""
    hidden = {"visible": False}
    return figure(
        [],
        title,
        xaxis=hidden,
        yaxis=hidden,
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 13},
            }
        ],
    )


def _finished(timings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    done = [
        t
        for t in timings
        if t["finished_at"] is not None
        and t["state"] in ("created", "duplicate", "failed")
    ]
    return sorted(done, key=lambda t: t["finished_at"])


def latencies(timings: Sequence[dict[str, Any]]) -> list[float]:
    """Seconds from an item's start to its finish, for finished items."""
    return [
        (t["finished_at"] - t["started_at"]).total_seconds()
        for t in _finished(timings)
        if t["started_at"] is not None
    ]


def timeline_figure(timings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Created, duplicates and failed over time, as running totals."""
    title = "Items finished over time"
    done = _finished(timings)
    if not done:
        return empty_figure(title, "No item has finished yet")

    data = []
    for state in ("created", "duplicate", "failed"):
        times = [t["finished_at"] for t in done if t["state"] == state]
        if not times:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "line": {"shape": "hv", "color": COLOURS[state]},
                "name": state,
                "x": [at.isoformat() for at in times],
                "y": list(range(1, len(times) + 1)),
            }
        )
    return figure(
        data, title, yaxis={"title": {"text": "items"}, "rangemode": "tozero"}
    )


def throughput_figure(timings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Jokes created per second, in about twenty time buckets."""
    title = "Throughput (jokes per second)"
    created = [t["finished_at"] for t in _finished(timings) if t["state"] == "created"]
    if len(created) < 2:
        return empty_figure(title, "Not enough jokes yet to measure a rate")

    start, end = created[0], created[-1]
    span = max((end - start).total_seconds(), 1.0)
    width = max(span / 20, 1.0)
    buckets = Counter(int((at - start).total_seconds() // width) for at in created)
    count = int(span // width) + 1
    xs = [(start.timestamp() + (i + 0.5) * width) * 1000 for i in range(count)]
    return figure(
        [
            {
                "type": "bar",
                "x": xs,
                "y": [buckets.get(i, 0) / width for i in range(count)],
                "marker": {"color": COLOURS["accent"]},
                "name": "jokes/s",
            }
        ],
        title,
        xaxis={"type": "date"},
        yaxis={"title": {"text": "jokes/s"}, "rangemode": "tozero"},
    )


def latency_figure(timings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Histogram of item latency with its p50 and p95 marked."""
    values = latencies(timings)
    if not values:
        return empty_figure("Item latency", "No item has finished yet")

    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    assert p50 is not None and p95 is not None
    title = f"Item latency · p50 {format_seconds(p50)} · p95 {format_seconds(p95)}"
    lines = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": value,
            "x1": value,
            "y0": 0,
            "y1": 1,
            "line": {"dash": "dash", "color": colour, "width": 2},
        }
        for value, colour in ((p50, COLOURS["completed"]), (p95, COLOURS["failed"]))
    ]
    return figure(
        [
            {
                "type": "histogram",
                "x": values,
                "nbinsx": 20,
                "marker": {"color": COLOURS["accent"]},
                "name": "items",
            }
        ],
        title,
        shapes=lines,
        bargap=0.05,
        xaxis={"title": {"text": "seconds"}},
        yaxis={"title": {"text": "items"}},
    )


def attempts_figure(timings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How many provider calls each finished item took."""
    title = "Attempts per item"
    counts = Counter(t["attempts"] for t in _finished(timings))
    if not counts:
        return empty_figure(title, "No item has finished yet")

    keys = sorted(counts)
    return figure(
        [
            {
                "type": "bar",
                "x": [str(k) for k in keys],
                "y": [counts[k] for k in keys],
                "marker": {"color": COLOURS["duplicate"]},
                "name": "items",
            }
        ],
        title,
        xaxis={"title": {"text": "attempts"}, "type": "category"},
        yaxis={"title": {"text": "items"}},
    )


def eta_seconds(
    status: dict[str, Any], timings: Sequence[dict[str, Any]], now: datetime
) -> float | None:
    """Seconds left at the measured rate; None when not running or no rate yet."""
    if status["status"] != "in_progress" or not status["remaining"]:
        return None

    done = _finished(timings)
    starts = [t["started_at"] for t in timings if t["started_at"] is not None]
    if not done or not starts:
        return None

    elapsed = (now - min(starts)).total_seconds()
    if elapsed <= 0:
        return None

    rate = len(done) / elapsed
    return status["remaining"] / rate


def format_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def status_figure(overview: Overview) -> dict[str, Any]:
    """Batches by status, one bar each, labelled (never colour alone)."""
    title = "Batches by status"
    if not overview.by_status:
        return empty_figure(title, "No batches yet")

    order = ["queued", "in_progress", "completed", "failed", "cancelled"]
    names = [s for s in order if overview.by_status.get(s)]
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "y": [s.replace("_", " ") for s in names],
                "x": [overview.by_status[s] for s in names],
                "marker": {"color": [COLOURS[s] for s in names]},
                "name": "batches",
            }
        ],
        title,
        margin={"l": 84, "r": 12, "t": 32, "b": 24},
        yaxis={"autorange": "reversed"},
        hovermode="closest",
    )


def rate_figure(overview: Overview) -> dict[str, Any]:
    """Jokes created per minute over the last hour."""
    title = "Jokes per minute, last hour"
    series = overview.jokes_per_minute
    if not any(count for _, count in series):
        return empty_figure(title, "No jokes in the last hour")

    return figure(
        [
            {
                "type": "scatter",
                "mode": "lines",
                "fill": "tozeroy",
                "x": [at.isoformat() for at, _ in series],
                "y": [count for _, count in series],
                "line": {"color": COLOURS["accent"]},
                "name": "jokes/min",
            }
        ],
        title,
        margin={"l": 36, "r": 12, "t": 32, "b": 24},
        xaxis={"tickformat": "%H:%M"},
        yaxis={"rangemode": "tozero"},
    )
