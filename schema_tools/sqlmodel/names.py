"""Names and types the way PostgreSQL spells them, from sqlglot nodes."""

from __future__ import annotations

from sqlglot import exp

from ..sqltext import normal_type

SERIALS = {exp.DataType.Type.SERIAL: "integer", exp.DataType.Type.BIGSERIAL: "bigint",
           exp.DataType.Type.SMALLSERIAL: "smallint"}


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


def pg_type(kind: exp.DataType | None) -> str:
    """format_type's spelling of a sqlglot type."""
    if kind is None:
        return ""
    if kind.this in SERIALS:
        return SERIALS[kind.this]
    return normal_type(kind.sql(dialect="postgres"))


def sql_of(node: exp.Expression | None) -> str | None:
    return node.sql(dialect="postgres") if node is not None else None
