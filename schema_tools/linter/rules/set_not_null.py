"""SET NOT NULL on a column of an existing table (also one added earlier in the same migration:
the table's rows are there all the same).

SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, unless a validated CHECK
(col IS NOT NULL) already proves it (PostgreSQL 12+), in which case it is instant.
Bad:   ALTER TABLE users ALTER COLUMN email SET NOT NULL;
Good:  ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
       ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
       ALTER TABLE users ALTER COLUMN email SET NOT NULL;
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import body, expression_tree
from ..context import Context

NAME = "set-not-null"
HELP = "SET NOT NULL on an existing column without a validated IS NOT NULL check"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_SetNotNull"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def _tests_not_null(expression: str, column: str) -> bool:
    """The check is exactly ``column IS NOT NULL``."""
    test = body(expression_tree(expression), "NullTest")
    fields = body(test.get("arg"), "ColumnRef").get("fields") or []
    return test.get("nulltesttype") == "IS_NOT_NULL" and len(fields) == 1 and body(fields[0], "String").get("sval") == column


def _proven(ctx: Context, table: str, column: str) -> bool:
    declared = ctx.schema.tables.get(table)
    return declared is not None and any(c.validated and _tests_not_null(c.expression, column)
                                        for c in declared.checks.values())


def check(ctx: Context) -> list[Finding]:
    table, altered = ctx.existing_actions("AT_SetNotNull")
    findings = []
    for action in altered:
        column = action.get("name", "")
        if not _proven(ctx, table, column):
            findings.append(ctx.finding(NAME, f"SET NOT NULL on {table}.{column} scans the table under an "
                                        "ACCESS EXCLUSIVE lock", f"first ADD CONSTRAINT ... CHECK ({column} IS NOT "
                                        "NULL) NOT VALID, then VALIDATE CONSTRAINT, then SET NOT NULL"))
    return findings
