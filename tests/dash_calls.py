"""Call a Dash callback the way the browser does: POST /_dash-update-component."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def _parse(part: str) -> tuple[Any, str]:
    name, prop = part.split("@", 1)[0].rsplit(".", 1)
    return (json.loads(name) if name.startswith("{") else name), prop


def _specs(output: str) -> list[tuple[Any, str]]:
    if output.startswith(".."):
        return [_parse(part) for part in output[2:-2].split("...")]
    return [_parse(output)]


def find_callback(dependencies: list[dict[str, Any]], marker: str) -> dict[str, Any]:
    """The callback whose output list mentions ``marker`` (e.g. "poll-ack.data")."""
    for dependency in dependencies:
        if marker in dependency["output"]:
            return dependency
    raise AssertionError(f"no callback writes {marker}")


def payload(
    dependency: dict[str, Any],
    values: dict[str, Any],
    matches: Sequence[str] = (),
    changed: Sequence[str] = (),
) -> dict[str, Any]:
    """The request body; wildcard ids expand to ``matches`` (their ``id`` key).

    ``values`` maps "component.prop" (or "type.prop" for wildcards, whose
    value is then a list in ``matches`` order) to the current value.
    """

    def expand(component: Any, prop: str, with_value: bool) -> Any:
        if isinstance(component, dict):
            key = f"{component['type']}.{prop}"
            given = values.get(key, [None] * len(matches))
            entries = []
            for index, match in enumerate(matches):
                entry: dict[str, Any] = {
                    "id": {"id": match, "type": component["type"]},
                    "property": prop,
                }
                if with_value:
                    entry["value"] = given[index]
                entries.append(entry)
            return entries
        entry = {"id": component, "property": prop}
        if with_value:
            entry["value"] = values.get(f"{component}.{prop}")
        return entry

    def listed(items: list[dict[str, Any]]) -> list[Any]:
        out = []
        for item in items:
            component = item["id"]
            if component.startswith("{"):
                component = json.loads(component)
            out.append(expand(component, item["property"], True))
        return out

    return {
        "output": dependency["output"],
        "outputs": [expand(c, p, False) for c, p in _specs(dependency["output"])]
        if dependency["output"].startswith("..")
        else expand(*_specs(dependency["output"])[0], False),
        "inputs": listed(dependency["inputs"]),
        "state": listed(dependency["state"]),
        "changedPropIds": list(changed),
    }
