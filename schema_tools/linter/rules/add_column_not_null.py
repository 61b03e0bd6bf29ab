"""ADD COLUMN ... NOT NULL without a DEFAULT on an existing table.

It fails as soon as the table holds a row. Add the column with a default (a constant default
is instant since PostgreSQL 11), or nullable, backfill, then add the NOT NULL safely.
Bad:   ALTER TABLE users ADD COLUMN plan text NOT NULL;
Good:  ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import body
from ..context import Context

NAME = "add-column-not-null-no-default"
HELP = "ADD COLUMN NOT NULL without a default on an existing table"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddColumn"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.existing_actions("AT_AddColumn")
    findings = []
    for action in added:
        column = body(action.get("def"))
        kinds = [body(c).get("contype") for c in column.get("constraints") or ()]
        filled = {"CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"} & set(kinds)
        if "CONSTR_NOTNULL" in kinds and not filled:
            findings.append(ctx.finding(NAME, f"adding NOT NULL column {column.get('colname')} without a default fails "
                                        f"if {table} has rows", "give it a DEFAULT, or add it nullable, backfill, "
                                        "then add the NOT NULL (see set-not-null)"))
    return findings
