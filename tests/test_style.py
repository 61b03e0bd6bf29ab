"""The code style the suite enforces: ruff, configured in pyproject.toml ([tool.ruff]), finds
nothing in any of our Python folders."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

FOLDERS = ("schema_tools", "ralph", "tests", "benchmarks")


def test_ruff_finds_nothing() -> None:
    # ruff comes with the test extra (make test installs it); --no-cache and --no-fix: the check
    # writes nothing into the checkout.
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--no-fix", *FOLDERS],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "No module named ruff" not in done.stderr, "ruff is missing: pip install -e '.[test]' (make test does)"
    assert done.returncode == 0, f"ruff check {' '.join(FOLDERS)} found problems:\n{done.stdout}{done.stderr}"
