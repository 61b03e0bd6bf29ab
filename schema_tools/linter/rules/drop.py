"""DROP COLUMN and DROP TABLE need an explicit acknowledgement.

Dropping loses data for good, and breaks every client still reading it. Acknowledge a
deliberate drop with an inline ignore that says why:
Bad:   ALTER TABLE users DROP COLUMN legacy_flag;
Good:  -- schema-tools: ignore drop-column -- unused since release 42, backed up in audit.users_legacy
       ALTER TABLE users DROP COLUMN legacy_flag;
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding
from ...sqlmodel.names import ident, table_name
from ..context import Context

NAME = "drop-column"
TABLE_NAME = "drop-table"
HELP = "DROP COLUMN / DROP TABLE without an acknowledgement"


def check(ctx: Context) -> list[Finding]:
    node = ctx.node
    findings = []
    if isinstance(node, exp.Drop) and str(node.args.get("kind", "")).upper() == "TABLE":
        for target in node.args.get("tables") or []:
            name = table_name(target)
            if ctx.is_existing(name):
                findings.append(ctx.finding(TABLE_NAME, f"DROP TABLE {name} deletes its data for good",
                                            f"acknowledge it: -- schema-tools: ignore {TABLE_NAME} -- <why>"))
    table = ctx.altered_table()
    if table is not None and ctx.is_existing(table):
        for action in ctx.actions():
            if isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "COLUMN":
                for target in action.args.get("tables") or []:
                    findings.append(ctx.finding(NAME, f"DROP COLUMN {table}.{ident(target)} deletes its data for good "
                                                "and breaks clients that still read it",
                                                f"acknowledge it: -- schema-tools: ignore {NAME} -- <why>"))
    return findings
