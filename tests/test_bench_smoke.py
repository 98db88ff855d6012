"""The benchmark scripts run and report their ratios (tiny runs, no timing)."""

from __future__ import annotations

import importlib
import re

import pytest

from bench.__main__ import modules

RATIO = re.compile(r"^ratio .+: \d+\.\d+")


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_QUICK", "1")


def test_the_runner_finds_every_benchmark() -> None:
    assert {"bench.bench_status", "bench.bench_generator"} <= set(modules())


def test_the_generator_benchmark_reports_its_ratios() -> None:
    lines = importlib.import_module("bench.bench_generator").run()

    ratios = [line for line in lines if RATIO.match(line)]
    assert any("generator / raw per row" in line for line in ratios), lines
    assert any("generator / raw batched" in line for line in ratios), lines


@pytest.mark.server
def test_the_status_benchmark_reports_its_ratios() -> None:
    lines = importlib.import_module("bench.bench_status").run()

    ratios = [line for line in lines if RATIO.match(line)]
    assert any("status / same server, fixed JSON" in line for line in ratios), lines
    assert any("status / bare waitress" in line for line in ratios), lines
    assert any(" batches:" in line for line in ratios), lines
