"""Names and types the way PostgreSQL spells them, from sqlglot nodes."""

from __future__ import annotations

from sqlglot import exp

from ..sqltext.meaning import normal_type, to_sql

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


SIMPLE_TYPES = {exp.DataType.Type.BIGINT: "bigint", exp.DataType.Type.INT: "integer", exp.DataType.Type.SMALLINT: "smallint",
                exp.DataType.Type.TEXT: "text", exp.DataType.Type.BOOLEAN: "boolean", exp.DataType.Type.JSONB: "jsonb",
                exp.DataType.Type.JSON: "json", exp.DataType.Type.UUID: "uuid", exp.DataType.Type.DATE: "date",
                exp.DataType.Type.INET: "inet", exp.DataType.Type.TIMESTAMPTZ: "timestamp with time zone",
                exp.DataType.Type.TIMESTAMP: "timestamp without time zone", exp.DataType.Type.DOUBLE: "double precision"}


def pg_type(kind: exp.DataType | None) -> str:
    """format_type's spelling of a sqlglot type (common ones without generating SQL)."""
    if kind is None:
        return ""
    if kind.this in SERIALS:
        return SERIALS[kind.this]
    if kind.this in SIMPLE_TYPES and not kind.expressions and not kind.args.get("nested"):
        return SIMPLE_TYPES[kind.this]
    return normal_type(to_sql(kind))


def sql_of(node: exp.Expression | None) -> str | None:
    """PostgreSQL text of an expression; the common default forms without the generator."""
    if node is None:
        return None
    if isinstance(node, exp.Literal):
        return f"'{node.this}'" if node.is_string and "'" not in node.this else node.this if not node.is_string else to_sql(node)
    if isinstance(node, exp.CurrentTimestamp) and not node.args:
        return "CURRENT_TIMESTAMP"
    return to_sql(node)
