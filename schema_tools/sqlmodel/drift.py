"""``drift``: the schema the files declare vs the live catalog, and both vs the expectations (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..catalog import Catalog
from ..expect.check import check_catalog
from ..expect.model import TableExpectation
from ..findings import Check, Report
from .diff import diff
from .fold import DeclaredSchema

RULE_HELP = {"drift": "the files and the database disagree about an object",
             "not-modelled": "a statement the declared schema could not model (may explain drift)"}


def drift_report(declared_schema: DeclaredSchema, live: Catalog, expectations: Sequence[TableExpectation]) -> Report:
    """Compare the declared schema with the live catalog; check both against the expectations."""
    declared = declared_schema.catalog()
    checks = [Check(f"{table}: files vs database", "files vs database", tuple(findings))
              for table, findings in diff(declared, live).items()]
    if declared_schema.notes:
        checks.append(Check("statements not modelled", "files", tuple(declared_schema.notes)))
    if expectations:
        for label, catalog in (("files", declared), ("database", live)):
            for check in check_catalog(catalog, expectations, invariants=False).checks:
                checks.append(replace(check, name=f"{label}: {check.name}", group=f"{label} vs expectations"))
    return Report("drift", tuple(checks), RULE_HELP)
