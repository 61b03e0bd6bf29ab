"""``verify``: expectations and schema-wide invariants against the live catalog, in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .server import connect as db
from .catalog import read_catalog
from .config import Settings
from .expect import load_expectations, verify
from .findings import Report


def verify_database(settings: Settings, expect_files: Sequence[Path] | None = None, invariants: bool = True) -> Report:
    """Read the catalog (three queries) and check every expectation and enabled invariant."""
    files = list(expect_files) if expect_files is not None else list(settings.expect_files)
    expectations = [e for path in files for e in load_expectations(path)]
    with db.connect_for(settings, "verify") as conn:
        catalog = read_catalog(conn, settings.schemas)
    return verify(catalog, expectations, settings.disabled_invariants, invariants)
