"""Column types with a better choice: timestamp without time zone, varchar(n), serial.

timestamp-without-tz.  Bad: created_at timestamp          Good: created_at timestamptz
varchar-n.             Bad: name varchar(100)             Good: name text CHECK (length(name) <= 100)
serial.                Bad: id serial PRIMARY KEY         Good: id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY
"""

from __future__ import annotations

from ...findings import Finding, Severity
from ...sql.tree import Node, body, strings
from ...sql.typenames import SERIALS, type_text
from ..context import Context

TIMESTAMP = "timestamp-without-tz"
VARCHAR = "varchar-n"
SERIAL = "serial"
HELP = {TIMESTAMP: "timestamp without time zone", VARCHAR: "varchar(n) where text serves",
        SERIAL: "serial where an identity column serves"}
KINDS = {"CreateStmt", "AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddColumn", "AT_AlterColumnType"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def _types(ctx: Context) -> list[tuple[str, Node]]:
    """Column types a CREATE TABLE or ALTER TABLE states (walking only the column list)."""
    if ctx.kind == "CreateStmt":
        columns = [body(e, "ColumnDef") for e in ctx.tree.get("tableElts") or ()]
        return [(c["colname"], c["typeName"]) for c in columns if c.get("typeName")]
    found = []
    for action in ctx.actions:
        definition = body(action.get("def"), "ColumnDef")
        if action.get("subtype") in ("AT_AddColumn", "AT_AlterColumnType") and definition.get("typeName"):
            found.append((definition.get("colname") or action.get("name", ""), definition["typeName"]))
    return found


def check(ctx: Context) -> list[Finding]:
    findings = []
    for column, type_name in _types(ctx):
        names = strings(type_name.get("names"))
        base = names[-1] if names else ""
        builtin = len(names) == 1 or names[:1] == ["pg_catalog"]
        if builtin and base == "timestamp":
            findings.append(ctx.finding(TIMESTAMP, f"{column} is timestamp without time zone: its meaning depends on "
                                        "the writer's time zone", "use timestamptz", Severity.WARNING))
        elif builtin and base == "varchar" and type_name.get("typmods"):
            findings.append(ctx.finding(VARCHAR, f"{column} is {type_text(type_name)}: changing the "
                                        "limit later rewrites or locks the table", "use text with a CHECK "
                                        "(length(...) <= n)", Severity.WARNING))
        elif len(names) == 1 and base in SERIALS:
            findings.append(ctx.finding(SERIAL, f"{column} is {base}: its sequence is a separate "
                                        "object with its own ownership and permissions", "use "
                                        "GENERATED ALWAYS AS IDENTITY", Severity.WARNING))
    return findings
