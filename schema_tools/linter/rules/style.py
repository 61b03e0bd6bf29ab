"""Column types with a better choice: timestamp without time zone, varchar(n), serial.

timestamp-without-tz.  Bad: created_at timestamp          Good: created_at timestamptz
varchar-n.             Bad: name varchar(100)             Good: name text CHECK (length(name) <= 100)
serial.                Bad: id serial PRIMARY KEY         Good: id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding, Severity
from ...sqlmodel.names import ident
from ...sqltext.meaning import to_sql
from ..context import Context

TIMESTAMP = "timestamp-without-tz"
VARCHAR = "varchar-n"
SERIAL = "serial"
HELP = {TIMESTAMP: "timestamp without time zone", VARCHAR: "varchar(n) where text serves",
        SERIAL: "serial where an identity column serves"}
SERIALS = {exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL}


def _types(node: exp.Expression) -> list[tuple[str, exp.DataType]]:
    """Column types a CREATE TABLE or ALTER TABLE states (walking only the column list)."""
    if isinstance(node, exp.Create) and isinstance(node.this, exp.Schema):
        items = node.this.expressions
    elif isinstance(node, exp.Alter):
        items = node.args.get("actions") or []
    else:
        return []
    found = []
    for item in items:
        if isinstance(item, exp.ColumnDef) and item.args.get("kind") is not None:
            found.append((ident(item.this), item.args["kind"]))
        elif isinstance(item, exp.AlterColumn) and item.args.get("dtype") is not None:
            found.append((ident(item.this), item.args["dtype"]))
    return found


def check(ctx: Context) -> list[Finding]:
    if not isinstance(ctx.node, (exp.Create, exp.Alter)):
        return []
    findings = []
    for column, kind in _types(ctx.node):
        if kind.this == exp.DataType.Type.TIMESTAMP:
            findings.append(ctx.finding(TIMESTAMP, f"{column} is timestamp without time zone: its meaning depends on "
                                        "the writer's time zone", "use timestamptz", Severity.WARNING))
        elif kind.this == exp.DataType.Type.VARCHAR and kind.expressions:
            findings.append(ctx.finding(VARCHAR, f"{column} is {to_sql(kind).lower()}: changing the "
                                        "limit later rewrites or locks the table", "use text with a CHECK "
                                        "(length(...) <= n)", Severity.WARNING))
        elif kind.this in SERIALS:
            findings.append(ctx.finding(SERIAL, f"{column} is {kind.this.value.lower()}: its sequence is a separate "
                                        "object with its own ownership and permissions", "use "
                                        "GENERATED ALWAYS AS IDENTITY", Severity.WARNING))
    return findings
