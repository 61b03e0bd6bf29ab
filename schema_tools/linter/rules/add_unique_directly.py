"""ADD UNIQUE or PRIMARY KEY directly on an existing table.

It builds the index while holding an ACCESS EXCLUSIVE lock. Build a unique index
concurrently first, then attach it as the constraint (instant).
Bad:   ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
Good:  -- transactional: false
       CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
       ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding
from ..context import Context

NAME = "add-unique-directly"
HELP = "UNIQUE or PRIMARY KEY added to an existing table without a concurrently built index"


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.existing_actions(exp.AddConstraint)
    findings = []
    for action in added:
        for item in action.expressions:
            for part in item.expressions if isinstance(item, exp.Constraint) else [item]:
                kind = "UNIQUE" if isinstance(part, exp.UniqueColumnConstraint) else \
                    "PRIMARY KEY" if isinstance(part, exp.PrimaryKey) else None
                if kind:
                    findings.append(ctx.finding(NAME, f"adding {kind} to {table} builds its index under an ACCESS "
                                                "EXCLUSIVE lock", f"CREATE UNIQUE INDEX CONCURRENTLY first, then ADD "
                                                f"CONSTRAINT ... {kind} USING INDEX"))
    for column in ctx.existing_actions(exp.ColumnDef)[1]:
        if any(isinstance(c.kind, (exp.UniqueColumnConstraint, exp.PrimaryKeyColumnConstraint)) for c in column.constraints):
            findings.append(ctx.finding(NAME, f"adding a UNIQUE column to {table} builds its index under an ACCESS "
                                        "EXCLUSIVE lock", "add the column, then CREATE UNIQUE INDEX CONCURRENTLY and "
                                        "ADD CONSTRAINT ... UNIQUE USING INDEX"))
    return findings
