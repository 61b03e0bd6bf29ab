"""``drift``: the schema the files declare vs the live database, and both vs the expectations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .server import connect as db
from .catalog import read_catalog
from .config import Settings
from .expect import load_expectations, verify
from .findings import Check, Report
from .engine.files import read_migrations
from .sqlmodel import declare
from .sqlmodel.diff import diff

RULE_HELP = {"drift": "the files and the database disagree about an object",
             "not-modelled": "a statement the declared schema could not model (may explain drift)"}


def drift(settings: Settings, expect_files: Sequence[Path] | None = None) -> Report:
    """Compare the declared schema with the live catalog; check both against the expectations."""
    declared_schema = declare(read_migrations(settings.migrations_dir))
    declared = declared_schema.catalog()
    with db.connect_for(settings, "drift") as conn:
        live = read_catalog(conn, settings.schemas)
    checks = [Check(f"{table}: files vs database", "files vs database", tuple(findings))
              for table, findings in diff(declared, live).items()]
    if declared_schema.notes:
        checks.append(Check("statements not modelled", "files", tuple(declared_schema.notes)))
    files = list(expect_files) if expect_files is not None else list(settings.expect_files)
    expectations = [e for path in files for e in load_expectations(path)]
    if expectations:
        for label, catalog in (("files", declared), ("database", live)):
            for check in verify(catalog, expectations, invariants=False).checks:
                checks.append(replace(check, name=f"{label}: {check.name}", group=f"{label} vs expectations"))
    return Report("drift", tuple(checks), RULE_HELP)
