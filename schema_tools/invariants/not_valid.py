"""No constraint is left NOT VALID: adding one NOT VALID is right, leaving it so is not (old
rows are unchecked, and the planner cannot rely on it).
Fix:  ALTER TABLE t VALIDATE CONSTRAINT name;
"""

from __future__ import annotations

from ..catalog import Catalog
from ..findings import Finding
from ..sql.identifiers import quote

NAME = "not-valid"
HELP = "no constraint is left NOT VALID"


def check(catalog: Catalog) -> list[Finding]:
    findings = []
    for table in catalog.tables.values():
        for name, kind, validated in ([(fk.name, "foreign key", fk.validated) for fk in table.foreign_keys]
                                      + [(c.name, "check", c.validated) for c in table.checks]):
            if not validated:
                findings.append(Finding(NAME, f"{kind} {name} on {table.display} is NOT VALID", object=name,
                                        hint=f"ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(name)};"))
    return findings
