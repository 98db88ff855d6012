"""Charts and analytics: empty states, percentiles, ETA, one template."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.figures import (
    TEMPLATE,
    attempts_figure,
    eta_seconds,
    latency_figure,
    rate_figure,
    status_figure,
    throughput_figure,
    timeline_figure,
)
from db.analytics import Overview, percentile

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
CHARTS = (timeline_figure, throughput_figure, latency_figure, attempts_figure)


def item(
    position: int, state: str, seconds: float, attempts: int = 1
) -> dict[str, Any]:
    started = START + timedelta(seconds=position)
    return {
        "position": position,
        "state": state,
        "attempts": attempts,
        "started_at": started,
        "finished_at": started + timedelta(seconds=seconds),
    }


def pending(position: int) -> dict[str, Any]:
    return {
        "position": position,
        "state": "pending",
        "attempts": 0,
        "started_at": None,
        "finished_at": None,
    }


def test_a_batch_with_no_finished_item_gets_empty_states_not_empty_axes() -> None:
    for build in CHARTS:
        fig = build([pending(0), pending(1)])
        assert fig["data"] == []
        assert fig["layout"]["annotations"][0]["text"]
        assert fig["layout"]["xaxis"] == {"visible": False}


def test_every_chart_uses_the_one_template() -> None:
    timings = [item(i, "created", 0.5 + i / 10) for i in range(10)]
    overview = Overview({"completed": 3}, [(START, 4)], 0.1, 0.0, 2.0, 3.0)
    figures = [build(timings) for build in CHARTS]
    figures += [status_figure(overview), rate_figure(overview)]
    assert all(fig["layout"]["template"] is TEMPLATE for fig in figures)


def test_latency_marks_p50_and_p95() -> None:
    timings = [item(i, "created", float(i + 1)) for i in range(20)]
    fig = latency_figure(timings)
    p50, p95 = (shape["x0"] for shape in fig["layout"]["shapes"])
    assert p50 == percentile([float(i + 1) for i in range(20)], 0.5) == 10.5
    assert round(p95, 2) == 19.05
    assert "p50 10.5 s" in fig["layout"]["title"]["text"]


def test_the_timeline_counts_each_outcome_cumulatively() -> None:
    timings = [
        item(0, "created", 1),
        item(1, "duplicate", 1, attempts=5),
        item(2, "created", 1),
        item(3, "failed", 1, attempts=4),
        pending(4),
    ]
    traces = {t["name"]: t for t in timeline_figure(timings)["data"]}
    assert traces["created"]["y"] == [1, 2]
    assert traces["duplicate"]["y"] == [1]
    assert traces["failed"]["y"] == [1]

    attempts = attempts_figure(timings)["data"][0]
    assert dict(zip(attempts["x"], attempts["y"], strict=True)) == {
        "1": 2,
        "4": 1,
        "5": 1,
    }


def test_throughput_is_in_jokes_per_second() -> None:
    # 41 jokes, one every half second: 2 per second throughout.
    timings = []
    for i in range(41):
        at = START + timedelta(seconds=i / 2)
        timings.append(
            {
                "position": i,
                "state": "created",
                "attempts": 1,
                "started_at": at,
                "finished_at": at,
            }
        )
    bars = throughput_figure(timings)["data"][0]["y"]
    assert max(bars) == 2.0 and min(bars[:-1]) == 2.0


def test_the_eta_comes_from_the_measured_rate() -> None:
    timings = [item(i, "created", 0.5) for i in range(10)] + [pending(10)] * 10
    status = {"status": "in_progress", "remaining": 10}
    now = START + timedelta(seconds=10)
    # 10 finished in 10 s: 10 left take about 10 s more.
    assert eta_seconds(status, timings, now) == 10.0
    assert eta_seconds({**status, "status": "completed"}, timings, now) is None
    assert eta_seconds(status, [pending(0)], now) is None
