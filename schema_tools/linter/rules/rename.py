"""RENAME of a column or a table that already exists.

Running application code still uses the old name and fails from the moment the migration
commits. Add the new column/view alongside, switch the code, and drop the old one later.
Bad:   ALTER TABLE users RENAME COLUMN name TO full_name;
Good:  ALTER TABLE users ADD COLUMN full_name text;   (backfill, switch readers, then drop name)
"""

from __future__ import annotations

from ...findings import Finding
from ...sqlmodel.renames import rename_of
from ..context import Context

NAME = "rename"
HELP = "RENAME of an existing column or table"
KINDS = {"RenameStmt"}  # the statements it reads (node types)


def check(ctx: Context) -> list[Finding]:
    rename = rename_of(ctx.parsed.tree)
    if rename is None or not ctx.is_existing(rename.on):
        return []
    if rename.kind == "column":
        return [ctx.finding(NAME, f"renaming {rename.on}.{rename.old} to {rename.new} breaks running code that uses "
                            "the old name", "add the new column, backfill, switch readers, drop the old column in a "
                            "later migration")]
    if rename.kind == "table":
        return [ctx.finding(NAME, f"renaming table {rename.on} to {rename.new} breaks running code that uses the old "
                            "name", "create the new table or a view with the new name first, switch readers, then "
                            "retire the old name")]
    return []  # constraint and index names: nothing running uses them
