"""Run every ``bench/bench_*.py`` module and print what each reports."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def modules() -> list[str]:
    """The benchmark modules, in name order."""
    return sorted(
        f"bench.{info.name}"
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.startswith("bench_")
    )


def main() -> int:
    failed = 0
    for name in modules():
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            lines = importlib.import_module(name).run()
        except Exception as exc:  # one broken benchmark must not hide the rest
            failed += 1
            print(f"   failed: {type(exc).__name__}: {exc}", flush=True)
            continue

        for line in lines:
            print(f"   {line}", flush=True)
        print(f"   ({time.monotonic() - started:.0f}s)", flush=True)

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
