"""The one settings table: every key with its default, unit and help.

The same table feeds the environment variables (``BATCH_DASHBOARD_<KEY>``),
the command line's ``--help`` and the README's settings section.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "BATCH_DASHBOARD_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def parse_bool(value: str) -> bool:
    text = value.strip().lower()

    if text in _TRUE:
        return True

    if text in _FALSE:
        return False

    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")

    return level


def _optional_str(value: str) -> str | None:
    return value or None


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    parse: Callable[[str], Any]
    unit: str
    help: str
    minimum: float | None = None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key

    def convert(self, raw: Any) -> Any:
        """Turn a raw value (a string from the environment, or a Python value)."""
        if raw is None:
            return None

        value = self.parse(raw) if isinstance(raw, str) else raw
        if self.minimum is not None and value is not None and value < self.minimum:
            raise SettingsError(f"{self.env} must be at least {self.minimum}")

        return value


SETTINGS: tuple[Setting, ...] = (
    Setting("HOST", "127.0.0.1", str, "address", "Interface `serve` listens on."),
    Setting("PORT", 8050, int, "port", "Port `serve` listens on.", minimum=0),
    Setting(
        "DATABASE_URL",
        None,
        _optional_str,
        "URL",
        "SQLAlchemy URL of the store; empty means a SQLite file in the instance "
        "folder.",
    ),
    Setting(
        "INSTANCE_PATH",
        None,
        _optional_str,
        "path",
        "Folder for the default SQLite file; empty means Flask's instance folder "
        "(./instance in a source checkout).",
    ),
    Setting("WORKERS", 4, int, "threads", "Generator threads.", minimum=1),
    Setting("SERVER_THREADS", 8, int, "threads", "WSGI server threads.", minimum=1),
    Setting(
        "MAX_BATCH_SIZE", 1000, int, "items", "Largest batchSize accepted.", minimum=1
    ),
    Setting(
        "MAX_QUEUED_ITEMS",
        100_000,
        int,
        "items",
        "Pending items over all batches before create answers 429; a single "
        "batch larger than this answers 400.",
        minimum=1,
    ),
    Setting(
        "MAX_ACTIVE_BATCHES",
        500,
        int,
        "batches",
        "Unfinished batches before create answers 429.",
        minimum=1,
    ),
    Setting(
        "MAX_BODY_BYTES",
        256 * 1024,
        int,
        "bytes",
        "Largest request body accepted (413 above).",
        minimum=1,
    ),
    Setting(
        "FEATURE_BATCHES_V2",
        True,
        parse_bool,
        "flag",
        "Serve the v2 batch endpoints and the dashboard form; 0/false/off hides them.",
    ),
    Setting(
        "API_TOKEN",
        None,
        _optional_str,
        "secret",
        "When set, write endpoints need `Authorization: Bearer <token>`.",
    ),
    Setting(
        "PROVIDER",
        "offline",
        str,
        "name",
        "Joke provider; `offline` draws on the pyjokes corpus.",
    ),
    Setting(
        "PROVIDER_DELAY",
        0.0,
        float,
        "seconds",
        "Pause the offline provider takes per joke, to make progress visible.",
        minimum=0,
    ),
    Setting(
        "PROVIDER_SEED",
        None,
        _optional_int,
        "integer",
        "Seed for the offline provider; empty means a fresh seed per process.",
    ),
    Setting(
        "MAX_ATTEMPTS",
        5,
        int,
        "attempts",
        "Jokes asked for per item before it counts as a duplicate.",
        minimum=1,
    ),
    Setting(
        "PROVIDER_RETRIES",
        3,
        int,
        "retries",
        "Retries of a provider error per item before it counts as failed.",
        minimum=0,
    ),
    Setting(
        "RETRY_BACKOFF",
        0.2,
        float,
        "seconds",
        "First delay between provider retries; doubles each time.",
        minimum=0,
    ),
    Setting(
        "SHUTDOWN_GRACE",
        10.0,
        float,
        "seconds",
        "How long running items may finish on shutdown before they are "
        "returned to pending.",
        minimum=0,
    ),
    Setting(
        "POLL_INTERVAL_MS",
        2000,
        int,
        "ms",
        "Dashboard polling interval while a batch is active.",
        minimum=250,
    ),
    Setting(
        "STALL_SECONDS",
        60,
        int,
        "seconds",
        "A batch whose status has not changed for this long is shown as stalled.",
        minimum=1,
    ),
    Setting(
        "SSE_MAX_STREAMS",
        4,
        int,
        "streams",
        "Server-Sent Event streams open at once; more answer 503 and clients poll. "
        "Each open stream holds one of the SERVER_THREADS, so keep it well below "
        "that number or the page's own requests queue behind the streams.",
        minimum=0,
    ),
    Setting(
        "SSE_HEARTBEAT_SECONDS",
        5.0,
        float,
        "seconds",
        "Quiet time after which an event stream sends a comment line to stay open; "
        "a stream whose client left is noticed at its next write.",
        minimum=0.05,
    ),
    Setting(
        "SSE_MAX_SECONDS",
        300,
        int,
        "seconds",
        "Longest life of one event stream; clients reconnect.",
        minimum=1,
    ),
    Setting(
        "LOG_LEVEL",
        "INFO",
        _log_level,
        "level",
        "Level of the `serve` log: DEBUG, INFO, WARNING or ERROR.",
    ),
    Setting(
        "CLIENT_URL",
        "http://127.0.0.1:8050",
        str,
        "URL",
        "Server the `submit`, `status` and `cancel` commands talk to.",
    ),
    Setting(
        "CLIENT_WAIT_TIMEOUT",
        60.0,
        float,
        "seconds",
        "How long `submit --wait` waits for a terminal status.",
        minimum=0.1,
    ),
    Setting(
        "CLIENT_REQUEST_TIMEOUT",
        10.0,
        float,
        "seconds",
        "Timeout of one request the client makes.",
        minimum=0.1,
    ),
)

_BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings, one attribute per key of the table in lower case."""

    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name.upper()]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> Settings:
        return load_settings(environ={}, overrides={**self.values, **changes})


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: overrides, then the environment, then defaults."""
    env = os.environ if environ is None else environ
    given = {key.upper(): value for key, value in (overrides or {}).items()}
    unknown = set(given) - set(_BY_KEY)
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")

    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.key in given:
            raw = given[setting.key]
        elif setting.env in env:
            raw = env[setting.env]
        else:
            values[setting.key] = setting.default
            continue

        try:
            values[setting.key] = setting.convert(raw)
        except SettingsError:
            raise
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{setting.env}={raw!r}: {exc}") from None

    return Settings(values)


def settings_table_markdown() -> str:
    """The settings as a Markdown table, as the README shows it."""
    lines = [
        "| variable | default | unit | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for setting in SETTINGS:
        if setting.default is None:
            default = "(unset)"
        elif isinstance(setting.default, bool):
            default = f"`{int(setting.default)}`"
        else:
            default = f"`{setting.default}`"
        lines.append(
            f"| `{setting.env}` | {default} | {setting.unit} | {setting.help} |"
        )

    return "\n".join(lines)
