"""Names the way PostgreSQL stores them, from sqlglot nodes."""

from __future__ import annotations

from sqlglot import exp


def ident(node: exp.Expression | None) -> str:
    """An identifier as PostgreSQL stores it: unquoted names fold to lower case."""
    if node is None:
        return ""
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.lower()
    if isinstance(node, (exp.Column, exp.Table)):
        return ident(node.this)
    return node.name.lower()


def table_name(table: exp.Table | None) -> str:
    """``name``, or ``schema.name`` outside public."""
    if table is None:
        return ""
    schema = ident(table.args.get("db")) if table.args.get("db") else ""
    name = ident(table.this)
    return name if schema in ("", "public") else f"{schema}.{name}"
