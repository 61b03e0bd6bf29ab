"""ADD COLUMN ... NOT NULL without a DEFAULT on an existing table.

It fails as soon as the table holds a row. Add the column with a default (a constant default
is instant since PostgreSQL 11), or nullable, backfill, then add the NOT NULL safely.
Bad:   ALTER TABLE users ADD COLUMN plan text NOT NULL;
Good:  ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding
from ...sqlmodel.names import ident
from ..context import Context

NAME = "add-column-not-null-no-default"
HELP = "ADD COLUMN NOT NULL without a default on an existing table"


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.existing_actions(exp.ColumnDef)
    findings = []
    for action in added:
        kinds = [c.kind for c in action.constraints]
        not_null = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds)
        filled = any(isinstance(k, (exp.DefaultColumnConstraint, exp.GeneratedAsIdentityColumnConstraint,
                                    exp.ComputedColumnConstraint)) for k in kinds)
        if not_null and not filled:
            findings.append(ctx.finding(NAME, f"adding NOT NULL column {ident(action.this)} without a default fails "
                                        f"if {table} has rows", "give it a DEFAULT, or add it nullable, backfill, "
                                        "then add the NOT NULL (see set-not-null)"))
    return findings
