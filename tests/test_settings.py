"""The settings table: environment, overrides, errors and the README copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batch_dashboard.settings import (
    SETTINGS,
    SettingsError,
    load_settings,
    settings_table_markdown,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_apply_without_environment() -> None:
    settings = load_settings(environ={})

    assert settings.port == 8050
    assert settings.workers == 4
    assert settings.feature_batches_v2 is True
    assert settings.database_url is None


def test_the_environment_and_overrides_are_read_in_order() -> None:
    environ = {"BATCH_DASHBOARD_WORKERS": "7", "BATCH_DASHBOARD_PORT": "9000"}

    settings = load_settings({"PORT": 9100}, environ=environ)

    assert settings.workers == 7
    assert settings.port == 9100


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("off", False),
        ("OFF", False),
    ],
)
def test_the_feature_flag_reads_common_spellings(raw: str, expected: bool) -> None:
    environ = {"BATCH_DASHBOARD_FEATURE_BATCHES_V2": raw}

    assert load_settings(environ=environ).feature_batches_v2 is expected


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("WORKERS", "zero"),
        ("WORKERS", "0"),
        ("PROVIDER_DELAY", "-1"),
        ("FEATURE_BATCHES_V2", "maybe"),
    ],
)
def test_a_bad_value_names_its_variable(key: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=f"BATCH_DASHBOARD_{key}"):
        load_settings(environ={f"BATCH_DASHBOARD_{key}": raw})


def test_an_unknown_override_is_refused() -> None:
    with pytest.raises(SettingsError, match="NOT_A_SETTING"):
        load_settings({"NOT_A_SETTING": 1}, environ={})


def test_every_setting_has_help_and_a_unit() -> None:
    for setting in SETTINGS:
        assert setting.help and setting.unit, setting.key


def test_the_readme_shows_the_current_settings_table() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", text, re.S
    )

    assert block is not None
    assert block.group(1) == settings_table_markdown(), (
        "README settings table is stale; regenerate it from "
        "batch_dashboard.settings.settings_table_markdown()"
    )
