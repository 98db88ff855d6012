"""Batch cards: how one is built, and what a poll tick changes on it.

Pure functions of a status dict (``status_view``) and the time; the callbacks
only read the store and hand the results to Dash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import Patch, dcc, html

from dashboard import ids
from dashboard.figures import format_seconds
from db.timeutil import parse_iso

CHIPS_PAGE = 20

STATUS_LABELS = {
    "queued": "Queued",
    "in_progress": "In progress",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
ACTIVE = {"queued", "in_progress"}


def aria(**values: Any) -> dict[str, Any]:
    """``aria-*`` attributes as keyword arguments: ``**aria(label="...")``."""
    return {f"aria-{name}": value for name, value in values.items()}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def done_count(status: dict[str, Any]) -> int:
    return int(status["total"] - status["remaining"])


def percent(status: dict[str, Any]) -> int:
    total = status["total"]
    return round(100 * done_count(status) / total) if total else 0


def counts_text(status: dict[str, Any]) -> str:
    """The counts, announced to screen readers as they change."""
    return (
        f"{done_count(status)} of {status['total']} done ({percent(status)}%) · "
        f"{status['createdCount']} created · {status['remaining']} remaining · "
        f"{status['duplicates']} duplicates · {status['failed']} failed"
    )


def _clock(iso: str | None) -> str:
    if not iso:
        return "—"
    return parse_iso(iso).strftime("%H:%M:%S")


def elapsed_seconds(status: dict[str, Any], now: datetime) -> float | None:
    if not status["startedAt"]:
        return None

    end = parse_iso(status["completedAt"]) if status["completedAt"] else now
    return max(0.0, (end - parse_iso(status["startedAt"])).total_seconds())


def times_text(status: dict[str, Any], now: datetime) -> str:
    return (
        f"Started {_clock(status['startedAt'])} · "
        f"completed {_clock(status['completedAt'])} · "
        f"elapsed {format_seconds(elapsed_seconds(status, now))}"
    )


def is_stalled(
    status: dict[str, Any], now: datetime, stall_seconds: float, resumed_at: float = 0
) -> bool:
    """An active batch with no visible change for ``stall_seconds``."""
    if status["status"] not in ACTIVE:
        return False

    changed = parse_iso(status["updatedAt"]).timestamp()
    return now.timestamp() - max(changed, resumed_at) > stall_seconds


def chip(joke_id: str) -> html.Button:
    """A focusable chip; its label is the id's tail, its title the whole id."""
    return html.Button(
        joke_id.rsplit("_", 1)[-1][:6],
        id={"type": ids.CHIP, "id": joke_id},
        className="chip",
        title=joke_id,
        **aria(label=f"Show joke {joke_id}"),
    )


def more_text(created: int, shown: int) -> str:
    return f"+{created - shown} more" if created > shown else ""


def card_state(
    status: dict[str, Any], shown: int, limit: int, resumed: float, paused: bool
) -> dict[str, Any]:
    """What the page remembers about a card, so a tick can tell what changed."""
    return {
        "v": status["version"],
        "s": status["status"],
        "n": shown,
        "limit": limit,
        "r": resumed,
        "p": paused,
    }


def build_card(
    status: dict[str, Any],
    now: datetime,
    stall_seconds: float,
    limit: int = CHIPS_PAGE,
) -> html.Article:
    batch_id = status["batchId"]
    key = {"id": batch_id}
    ids_shown = status["createdIds"][:limit]
    stalled = is_stalled(status, now, stall_seconds)
    prompts = ", ".join(status["prompts"]) if status["prompts"] else "no prompts"
    return html.Article(
        id={"type": ids.CARD, **key},
        className=f"card status-{status['status']}",
        children=[
            html.Header(
                className="card-head",
                children=[
                    dcc.Link(
                        batch_id,
                        href=f"/batches/{batch_id}",
                        className="card-title",
                        title=f"Open the details of {batch_id}",
                    ),
                    html.Span(
                        status_label(status["status"]),
                        id={"type": ids.BADGE, **key},
                        className=f"badge badge-{status['status']}",
                    ),
                ],
            ),
            html.P(prompts, className="prompts", title=prompts),
            html.Progress(
                id={"type": ids.PROGRESS, **key},
                value=str(done_count(status)),
                max=str(status["total"]),
                className="progress",
                **aria(label=f"Progress of {batch_id}"),
            ),
            html.P(
                counts_text(status),
                id={"type": ids.COUNTS, **key},
                className="counts",
                **aria(live="polite"),
            ),
            html.P(
                times_text(status, now),
                id={"type": ids.TIMES, **key},
                className="times",
            ),
            html.P(
                status["error"] or "",
                id={"type": ids.ERROR, **key},
                className="error",
                hidden=not status["error"],
                role="alert",
            ),
            html.Div(
                id={"type": ids.STALL, **key},
                className="stall",
                hidden=not stalled,
                children=[
                    html.Span(
                        f"No change for {stall_seconds:.0f} s: polling is paused. "
                    ),
                    html.Button(
                        "Resume",
                        id={"type": ids.RESUME, **key},
                        className="link resume",
                    ),
                ],
            ),
            html.Div(
                [chip(joke_id) for joke_id in ids_shown],
                id={"type": ids.CHIPS, **key},
                className="chips",
                **aria(label=f"Jokes of {batch_id}"),
            ),
            html.Button(
                more_text(status["createdCount"], len(ids_shown)),
                id={"type": ids.MORE, **key},
                className="more",
                hidden=status["createdCount"] <= len(ids_shown),
                title="Load more chips",
            ),
            dcc.Store(
                id={"type": ids.CARD_STATE, **key},
                data=card_state(status, len(ids_shown), limit, 0, stalled),
            ),
        ],
    )


# The per-card properties a tick may change, in the order the tick's outputs
# list them; ``card_update`` fills a dict with some of these keys.
TICK_PROPS = (
    (ids.CARD_STATE, "data"),
    (ids.CARD, "className"),
    (ids.BADGE, "children"),
    (ids.BADGE, "className"),
    (ids.PROGRESS, "value"),
    (ids.COUNTS, "children"),
    (ids.TIMES, "children"),
    (ids.ERROR, "children"),
    (ids.ERROR, "hidden"),
    (ids.STALL, "hidden"),
    (ids.CHIPS, "children"),
    (ids.MORE, "children"),
    (ids.MORE, "hidden"),
)


def card_live(
    status: dict[str, Any], state: dict[str, Any], now: datetime, stall: float
) -> bool:
    """Whether a card still wants polling: active and not paused."""
    return status["status"] in ACTIVE and not is_stalled(
        status, now, stall, state.get("r", 0)
    )


def card_update(
    state: dict[str, Any], status: dict[str, Any], now: datetime, stall: float
) -> dict[tuple[str, str], Any]:
    """Only what changed since ``state`` on a card; empty when nothing did."""
    paused = is_stalled(status, now, stall, state.get("r", 0))
    if status["version"] == state["v"] and paused == state["p"]:
        return {}

    props: dict[tuple[str, str], Any] = {}
    if paused != state["p"]:
        props[(ids.STALL, "hidden")] = not paused

    shown, limit = state["n"], state["limit"]
    if status["version"] != state["v"]:
        if status["status"] != state["s"]:
            name = status["status"]
            props[(ids.CARD, "className")] = f"card status-{name}"
            props[(ids.BADGE, "children")] = status_label(name)
            props[(ids.BADGE, "className")] = f"badge badge-{name}"
            props[(ids.ERROR, "children")] = status["error"] or ""
            props[(ids.ERROR, "hidden")] = not status["error"]
        props[(ids.PROGRESS, "value")] = str(done_count(status))
        props[(ids.COUNTS, "children")] = counts_text(status)
        props[(ids.TIMES, "children")] = times_text(status, now)

        fresh = status["createdIds"][shown:limit]
        if fresh:
            chips = Patch()
            chips.extend([chip(joke_id) for joke_id in fresh])
            props[(ids.CHIPS, "children")] = chips
            shown += len(fresh)
        # The overflow button only ever appears during a tick; "load more"
        # is what hides it again.
        more = more_text(status["createdCount"], shown)
        if more:
            props[(ids.MORE, "children")] = more
            props[(ids.MORE, "hidden")] = False

    props[(ids.CARD_STATE, "data")] = card_state(
        status, shown, limit, state.get("r", 0), paused
    )
    return props
