"""DROP COLUMN and DROP TABLE need an explicit acknowledgement.

Dropping loses data for good, and breaks every client still reading it. Acknowledge a
deliberate drop with an inline ignore that says why:
Bad:   ALTER TABLE users DROP COLUMN legacy_flag;
Good:  -- schema-tools: ignore drop-column -- unused since release 42, backed up in audit.users_legacy
       ALTER TABLE users DROP COLUMN legacy_flag;
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import qualified, strings
from ..context import Context

NAME = "drop-column"
TABLE_NAME = "drop-table"
HELP = "DROP COLUMN / DROP TABLE without an acknowledgement"
KINDS = {"DropStmt", "AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_DropColumn"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def check(ctx: Context) -> list[Finding]:
    findings = []
    if ctx.kind == "DropStmt" and ctx.tree.get("removeType") == "OBJECT_TABLE":
        for target in ctx.tree.get("objects") or ():
            name = qualified(strings(target))
            if ctx.is_existing(name):
                findings.append(ctx.finding(TABLE_NAME, f"DROP TABLE {name} deletes its data for good",
                                            f"acknowledge it: -- schema-tools: ignore {TABLE_NAME} -- <why>"))
    table, dropped = ctx.existing_actions("AT_DropColumn")
    for action in dropped:
        findings.append(ctx.finding(NAME, f"DROP COLUMN {table}.{action.get('name')} deletes its data for good "
                                    "and breaks clients that still read it",
                                    f"acknowledge it: -- schema-tools: ignore {NAME} -- <why>"))
    return findings
