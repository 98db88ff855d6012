"""The grid's view (sort, filters, page) and its form in the URL query."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlencode

from db.analytics import PAGE_SORTS, PageQuery
from db.states import BatchStatus

PAGE_SIZE = 24
STATUSES = tuple(str(status) for status in BatchStatus)
CREATED_WINDOWS = {
    "any": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
}
MAX_TEXT = 200


@dataclass(frozen=True)
class View:
    sort: str = "newest"
    statuses: tuple[str, ...] = ()
    text: str = ""
    created: str = "any"
    page: int = 1

    def with_page(self, page: int) -> View:
        return replace(self, page=max(1, page))


def parse_view(search: str | None) -> View:
    """Read a view from ``?sort=..&status=a,b&q=..&created=..&page=..``.

    Unknown or malformed values fall back to the defaults rather than fail:
    a shared link from an older version still opens.
    """
    args = parse_qs((search or "").lstrip("?"))

    def first(name: str) -> str:
        values = args.get(name)
        return values[0].strip() if values else ""

    sort = first("sort")
    statuses = tuple(
        status
        for status in STATUSES
        if status
        in {part for value in args.get("status", []) for part in value.split(",")}
    )
    created = first("created")
    page_text = first("page")
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 1
    return View(
        sort=sort if sort in PAGE_SORTS else "newest",
        statuses=statuses,
        text=first("q")[:MAX_TEXT],
        created=created if created in CREATED_WINDOWS else "any",
        page=max(1, page),
    )


def view_search(view: View) -> str:
    """The query string of ``view``; the default view is the bare path."""
    pairs: list[tuple[str, str]] = []
    if view.sort != "newest":
        pairs.append(("sort", view.sort))
    if view.statuses:
        pairs.append(("status", ",".join(view.statuses)))
    if view.text:
        pairs.append(("q", view.text))
    if view.created != "any":
        pairs.append(("created", view.created))
    if view.page > 1:
        pairs.append(("page", str(view.page)))
    return "?" + urlencode(pairs) if pairs else ""


def page_query(view: View, now: datetime, page_size: int = PAGE_SIZE) -> PageQuery:
    window = CREATED_WINDOWS[view.created]
    return PageQuery(
        sort=view.sort,
        statuses=view.statuses,
        text=view.text,
        created_from=now - window if window else None,
        offset=(view.page - 1) * page_size,
        limit=page_size,
    )
