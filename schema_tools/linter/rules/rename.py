"""RENAME of a column or a table that already exists.

Running application code still uses the old name and fails from the moment the migration
commits. Add the new column/view alongside, switch the code, and drop the old one later.
Bad:   ALTER TABLE users RENAME COLUMN name TO full_name;
Good:  ALTER TABLE users ADD COLUMN full_name text;   (backfill, switch readers, then drop name)
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding
from ...sqlmodel.names import ident, table_name
from ..context import Context

NAME = "rename"
HELP = "RENAME of an existing column or table"


def check(ctx: Context) -> list[Finding]:
    table = ctx.existing_altered_table()
    if table is None:
        return []
    findings = []
    for action in ctx.actions():
        if isinstance(action, exp.RenameColumn):
            findings.append(ctx.finding(NAME, f"renaming {table}.{ident(action.this)} breaks running code that uses "
                                        "the old name", "add the new column, backfill, switch readers, drop the old "
                                        "column in a later migration"))
        elif isinstance(action, exp.AlterRename):
            findings.append(ctx.finding(NAME, f"renaming table {table} to {table_name(action.this)} breaks running "
                                        "code that uses the old name", "create the new table or a view with the new "
                                        "name first, switch readers, then retire the old name"))
    return findings
