"""A plain (not editable) install carries everything the app needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_the_packages_and_the_assets(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())

    for package in ("api", "batch_dashboard", "dashboard", "db", "generator"):
        assert f"{package}/__init__.py" in names
    shipped_assets = {name for name in names if name.startswith("assets/")}
    on_disk = {
        f"assets/{path.name}"
        for path in (ROOT / "assets").iterdir()
        if path.suffix in {".css", ".js", ".svg", ".ico"}
    }
    assert on_disk and on_disk <= shipped_assets
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "batch-dashboard = batch_dashboard.cli:main" in (
        zipfile.ZipFile(wheel).read(entry_points).decode()
    )
