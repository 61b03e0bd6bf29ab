"""PostgreSQL's own parse trees (libpg_query's JSON, through pglast) and what the model reads
from them: names as PostgreSQL stores them, types in format_type's spelling, expressions as
SQL text. A tree is a dict ``{"NodeTag": {fields}}``; fields at their default (0, false, "")
are left out, as libpg_query's JSON does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import orjson

Node = dict[str, Any]


try:
    from pglast.parser import ParseError, parse_sql_json
except ImportError:  # pragma: no cover -- no wheel for this platform
    parse_sql_json = None  # type: ignore[assignment]


def parse_tree(sql: str) -> Node | None:
    """The tree of one statement, or None when PostgreSQL's parser refuses it (or pglast is
    not installed)."""
    if parse_sql_json is None:  # pragma: no cover
        return None
    try:
        stmts = orjson.loads(parse_sql_json(sql)).get("stmts") or []
    except (ParseError, ValueError, RecursionError):
        return None
    return stmts[0].get("stmt") if len(stmts) == 1 else None



def tag(node: Any) -> str:
    """The node's type (``CreateStmt``, ``ColumnRef``...); "" for anything else."""
    if type(node) is dict and len(node) == 1:
        for key in node:
            return key  # type: ignore[no-any-return]
    return ""


def body(node: Any, expected: str | None = None) -> Node:
    """The node's fields ({} when it is not a node, or not of the ``expected`` type)."""
    if type(node) is not dict or len(node) != 1:
        return {}
    for kind, inner in node.items():
        if (expected is None or kind == expected) and type(inner) is dict:
            return inner
    return {}


def strings(items: Any) -> list[str]:
    """The values of a list of String nodes (a qualified name, a column list)."""
    if type(items) is dict:
        items = body(items, "List").get("items")
    out = []
    for item in items or ():
        value = item.get("String") if type(item) is dict else None
        if type(value) is dict:
            out.append(value.get("sval", ""))
    return out


def relation(range_var: Node | None) -> str:
    """A RangeVar as the model keys tables: ``name``, or ``schema.name`` outside public."""
    if not range_var:
        return ""
    schema, name = range_var.get("schemaname", ""), range_var.get("relname", "")
    return name if schema in ("", "public") else f"{schema}.{name}"


def qualified(names: list[str]) -> str:
    """A qualified name (a DROP's or COMMENT's object) keyed like ``relation``."""
    return ".".join(names[1:] if len(names) == 2 and names[0] == "public" else names[-2:])


def constant(node: Any) -> Any:
    """An A_Const's value (int, float text, str, bool), or None for NULL or a non-constant."""
    fields = body(node, "A_Const")
    for kind in ("ival", "fval", "sval", "boolval", "bsval"):
        if kind in fields:
            inner = fields[kind]
            default: Any = {"ival": 0, "boolval": False}.get(kind, "")
            return inner.get(kind, default) if isinstance(inner, dict) else inner
    return None


# --- types --------------------------------------------------------------------------------------

SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint",
           "smallserial": "smallint", "serial2": "smallint"}
INTERNAL = {"int8": "bigint", "int4": "integer", "int2": "smallint", "float8": "double precision",
            "float4": "real", "bool": "boolean", "varchar": "character varying", "bpchar": "character",
            "timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone",
            "timetz": "time with time zone", "time": "time without time zone", "varbit": "bit varying",
            "decimal": "numeric", "int": "integer", "integer": "integer", "smallint": "smallint",
            "bigint": "bigint", "real": "real", "boolean": "boolean"}


def type_base(type_name: Node | None) -> str:
    """The type's own name, lower case (``int8``, ``varchar``, ``serial``, ``citext``)."""
    names = strings((type_name or {}).get("names"))
    return names[-1] if names else ""


def type_text(type_name: Node | None) -> str:
    """A TypeName in format_type's spelling: ``bigint``, ``character varying(40)``,
    ``timestamp(3) with time zone``, ``integer[]``; a serial as its integer type."""
    if not type_name:
        return ""
    names = strings(type_name.get("names"))
    if not names:
        return ""
    base = names[-1]
    builtin = len(names) == 1 or names[0] == "pg_catalog"
    if builtin and base in SERIALS:
        text = SERIALS[base]
    elif builtin:
        text = INTERNAL.get(base) or identifier(base)
    else:
        text = ".".join(identifier(n) for n in names if n != "public" or len(names) == 1)
    typmods = type_name.get("typmods")
    mods = [constant(m) for m in typmods] if typmods else []
    if mods and base == "interval" and builtin:
        return _interval(mods) + ("[]" if type_name.get("arrayBounds") else "")
    if mods and all(isinstance(m, int) for m in mods):
        if text == "numeric" and len(mods) == 1:
            mods.append(0)
        args = f"({','.join(str(m) for m in mods)})"
        head, zone, tail = text.partition(" with")
        text = f"{head}{args}{zone}{tail}" if head.startswith(("timestamp", "time")) and zone else f"{text}{args}"
    if type_name.get("arrayBounds"):
        text += "[]"
    return text


_INTERVAL_FIELDS = {4: " year", 2: " month", 8: " day", 1024: " hour", 2048: " minute", 4096: " second",
                    6: " year to month", 1032: " day to hour", 3080: " day to minute", 7176: " day to second",
                    3072: " hour to minute", 7168: " hour to second", 6144: " minute to second", 32767: ""}
"""interval's first modifier is a mask of its fields (PostgreSQL's INTERVAL_MASK bits)."""


def _interval(mods: list[Any]) -> str:
    """``interval day to second(3)`` from its modifiers: the fields mask, then the precision."""
    fields = _INTERVAL_FIELDS.get(mods[0], "") if isinstance(mods[0], int) else ""
    precision = f"({mods[1]})" if len(mods) > 1 and isinstance(mods[1], int) else ""
    return f"interval{precision}" if not fields else f"interval{fields}{precision}"


# --- expressions --------------------------------------------------------------------------------


class Unprintable(ValueError):
    """An expression form ``sql`` does not print itself (pglast's deparser does)."""


_SIMPLE = re.compile(r"^[a-z_][a-z0-9_$]*$")


@functools.lru_cache(maxsize=4096)
def identifier(name: str) -> str:
    """A name as SQL text: quoted unless PostgreSQL would read it back unchanged."""
    from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    if _SIMPLE.match(name) and name not in RESERVED_KEYWORDS and name not in TYPE_FUNC_NAME_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_VALUE_FUNCTIONS = {"SVFOP_CURRENT_DATE": "CURRENT_DATE", "SVFOP_CURRENT_TIME": "CURRENT_TIME",
                    "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP", "SVFOP_LOCALTIME": "LOCALTIME",
                    "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP", "SVFOP_CURRENT_ROLE": "CURRENT_ROLE",
                    "SVFOP_CURRENT_USER": "CURRENT_USER", "SVFOP_USER": "USER", "SVFOP_SESSION_USER": "SESSION_USER",
                    "SVFOP_CURRENT_CATALOG": "CURRENT_CATALOG", "SVFOP_CURRENT_SCHEMA": "CURRENT_SCHEMA"}
_LIKE = {"~~": "LIKE", "!~~": "NOT LIKE", "~~*": "ILIKE", "!~~*": "NOT ILIKE"}
_BETWEEN = {"AEXPR_BETWEEN": "BETWEEN", "AEXPR_NOT_BETWEEN": "NOT BETWEEN", "AEXPR_BETWEEN_SYM": "BETWEEN SYMMETRIC",
            "AEXPR_NOT_BETWEEN_SYM": "NOT BETWEEN SYMMETRIC"}
_BOOL_TESTS = {"IS_TRUE": "IS TRUE", "IS_NOT_TRUE": "IS NOT TRUE", "IS_FALSE": "IS FALSE",
               "IS_NOT_FALSE": "IS NOT FALSE", "IS_UNKNOWN": "IS UNKNOWN", "IS_NOT_UNKNOWN": "IS NOT UNKNOWN"}


def _atom(node: Any) -> str:
    """``sql`` of an operand, in parentheses unless it is a constant, a name or a call."""
    text = sql(node)
    return text if tag(node) in ("A_Const", "ColumnRef", "FuncCall", "TypeCast", "SQLValueFunction") else f"({text})"


def _operator(names: list[str]) -> str:
    return names[-1] if len(names) == 1 else f"OPERATOR({'.'.join(names)})"


def _a_expr(e: Node) -> str:
    kind, op = e.get("kind"), _operator(strings(e.get("name")))
    left, right = e.get("lexpr"), e.get("rexpr")
    if kind == "AEXPR_OP":
        return f"{_atom(left)} {op} {_atom(right)}" if left is not None else f"{op} {_atom(right)}"
    if kind in ("AEXPR_OP_ANY", "AEXPR_OP_ALL"):
        return f"{_atom(left)} {op} {'ANY' if kind == 'AEXPR_OP_ANY' else 'ALL'} ({sql(right)})"
    if kind == "AEXPR_IN":
        items = ", ".join(sql(i) for i in body(right, "List").get("items") or ())
        return f"{_atom(left)} {'IN' if op == '=' else 'NOT IN'} ({items})"
    if kind in ("AEXPR_LIKE", "AEXPR_ILIKE") and op in _LIKE:
        return f"{_atom(left)} {_LIKE[op]} {_atom(right)}"
    if kind in ("AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT"):
        return f"{_atom(left)} IS {'NOT ' if kind == 'AEXPR_NOT_DISTINCT' else ''}DISTINCT FROM {_atom(right)}"
    if kind == "AEXPR_NULLIF":
        return f"NULLIF({sql(left)}, {sql(right)})"
    if kind in _BETWEEN:
        low, high = body(right, "List").get("items") or (None, None)
        return f"{_atom(left)} {_BETWEEN[kind]} {_atom(low)} AND {_atom(high)}"
    raise Unprintable(str(kind))


def _call(f: Node) -> str:
    if f.get("funcformat") == "COERCE_SQL_SYNTAX" or f.get("agg_order") or f.get("agg_filter") or f.get("over") \
            or f.get("agg_within_group"):
        raise Unprintable("SQL-syntax call")
    names = strings(f.get("funcname"))
    args = "*" if f.get("agg_star") else ", ".join(sql(a) for a in f.get("args") or ())
    if f.get("func_variadic"):
        raise Unprintable("VARIADIC")
    return f"{'.'.join(identifier(n) for n in names)}({'DISTINCT ' if f.get('agg_distinct') else ''}{args})"


def sql(node: Any) -> str:
    """SQL text of an expression tree (PostgreSQL reads it back as the same expression).
    Unprintable for forms it does not know; ``expression_sql`` then asks pglast."""
    kind, e = tag(node), body(node)
    if kind == "A_Const":
        if e.get("isnull"):
            return "NULL"
        value = constant(node)
        if "sval" in e:
            return _literal(value)
        if "bsval" in e:
            return f"{value[0].upper()}'{value[1:]}'"
        if "boolval" in e:
            return "true" if value else "false"
        return str(value)
    if kind == "ColumnRef":
        fields = e.get("fields") or ()
        return ".".join("*" if tag(f) == "A_Star" else identifier(body(f).get("sval", "")) for f in fields)
    if kind == "TypeCast":
        return f"{_atom(e.get('arg'))}::{type_text(e.get('typeName'))}"
    if kind == "FuncCall":
        return _call(e)
    if kind == "SQLValueFunction" and e.get("op") in _VALUE_FUNCTIONS:
        precision = e.get("typmod", -1)
        return _VALUE_FUNCTIONS[e["op"]] + (f"({precision})" if precision >= 0 else "")
    if kind == "SQLValueFunction" and str(e.get("op", "")).endswith("_N"):
        return f"{_VALUE_FUNCTIONS[e['op'][:-2]]}({e.get('typmod', 0)})"
    if kind == "A_Expr":
        return _a_expr(e)
    if kind == "BoolExpr":
        args = [_atom(a) for a in e.get("args") or ()]
        if e.get("boolop") == "NOT_EXPR":
            return f"NOT {args[0]}"
        return f" {'AND' if e.get('boolop') == 'AND_EXPR' else 'OR'} ".join(args)
    if kind == "NullTest":
        return f"{_atom(e.get('arg'))} IS {'NOT ' if e.get('nulltesttype') == 'IS_NOT_NULL' else ''}NULL"
    if kind == "BooleanTest":
        return f"{_atom(e.get('arg'))} {_BOOL_TESTS[e['booltesttype']]}"
    if kind == "A_ArrayExpr":
        return f"ARRAY[{', '.join(sql(i) for i in e.get('elements') or ())}]"
    if kind == "CoalesceExpr":
        return f"COALESCE({', '.join(sql(a) for a in e.get('args') or ())})"
    if kind == "MinMaxExpr":
        return f"{'GREATEST' if e.get('op') == 'IS_GREATEST' else 'LEAST'}({', '.join(sql(a) for a in e.get('args') or ())})"
    if kind == "CaseExpr":
        whens = " ".join(f"WHEN {sql(body(w).get('expr'))} THEN {sql(body(w).get('result'))}" for w in e.get("args") or ())
        subject = f" {sql(e['arg'])}" if e.get("arg") is not None else ""
        otherwise = f" ELSE {sql(e['defresult'])}" if e.get("defresult") is not None else ""
        return f"CASE{subject} {whens}{otherwise} END"
    raise Unprintable(kind or type(node).__name__)


def expression_sql(node: Any, statement: str) -> str:
    """``sql`` of an expression of ``statement``; forms it does not print are printed by
    pglast's deparser (slower), found in pglast's own tree of the statement by position."""
    try:
        return sql(node)
    except (Unprintable, KeyError, IndexError, TypeError, ValueError):
        return _deparsed(node, statement)


def _deparsed(node: Any, statement: str) -> str:
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    kind, location = tag(node), body(node).get("location")
    if location is None:
        raise Unprintable(f"{kind} without a position")
    location = len(statement.encode()[:location].decode(errors="ignore"))  # pglast's positions count characters

    def walk(value: Any) -> Iterator[Any]:
        if isinstance(value, ast.Node):
            yield value
            for name in value:
                yield from walk(getattr(value, name))
        elif isinstance(value, tuple):
            for item in value:
                yield from walk(item)

    for candidate in walk(parse_sql(statement)):
        if type(candidate).__name__ == kind and getattr(candidate, "location", None) == location:
            return str(RawStream()(candidate))
    raise Unprintable(f"{kind} not found")


def nodes(value: object, kind: str) -> Iterator[Node]:
    """The fields of every ``kind`` node within a tree, outermost first."""
    if isinstance(value, dict):
        if kind in value and len(value) == 1 and isinstance(value[kind], dict):
            yield value[kind]
        for inner in value.values():
            yield from nodes(inner, kind)
    elif isinstance(value, list):
        for item in value:
            yield from nodes(item, kind)


def calls(node: object) -> Iterator[str]:
    """The names of the functions an expression calls (the last part of each name)."""
    for call in nodes(node, "FuncCall"):
        names = strings(call.get("funcname"))
        if names:
            yield names[-1]


def column_refs(node: object) -> Iterator[str]:
    """The unqualified column names an expression reads."""
    for ref in nodes(node, "ColumnRef"):
        fields = ref.get("fields") or ()
        if fields and tag(fields[-1]) == "String":
            yield body(fields[-1]).get("sval", "")


def rename_column(text: str, old: str, new: str) -> str:
    """An expression's text with column ``old`` renamed to ``new`` (as PostgreSQL shows it
    after a RENAME); unchanged when it cannot be read."""
    statement = f"SELECT {text}"
    tree = body(parse_tree(statement), "SelectStmt")
    targets = tree.get("targetList") or []
    if len(targets) != 1:
        return text
    expression = body(targets[0], "ResTarget").get("val")

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            fields = body(value, "ColumnRef").get("fields")
            if fields and len(fields) == 1 and body(fields[0], "String").get("sval") == old:
                return {"ColumnRef": {**value["ColumnRef"], "fields": [{"String": {"sval": new}}]}}
            return {k: swap(v) for k, v in value.items()}
        return [swap(v) for v in value] if isinstance(value, list) else value

    try:
        return sql(swap(expression))
    except (Unprintable, KeyError, IndexError, TypeError, ValueError):
        from ..sqltext.meaning import rename_column as by_sqlglot  # forms printed by pglast alone

        return by_sqlglot(text, old, new)


ROW_STATEMENTS = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
                  "TruncateStmt": "TRUNCATE", "CopyStmt": "COPY", "DoStmt": "a DO block", "CallStmt": "CALL",
                  "SelectStmt": "a SELECT (its functions may write)", "ExecuteStmt": "EXECUTE",
                  "CreateTableAsStmt": "CREATE TABLE ... AS (its query's functions may write)"}


WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


def changes_rows(sql: str) -> str:
    """What a statement may do to rows, in words ("DELETE", "a DO block"...), or "" for schema
    changes and for a SELECT that calls nothing and writes nothing (``SELECT 1``); a statement
    PostgreSQL's parser cannot read is taken to change rows."""
    tree = parse_tree(sql)
    kind = tag(tree)
    if not kind:
        return "a statement PostgreSQL's parser cannot read"
    try:
        if kind == "SelectStmt" and not body(tree).get("intoClause") and not any(calls(tree)) \
                and not any(any(nodes(tree, write)) for write in WRITES):
            return ""
    except RecursionError:
        return "a statement nested too deeply to read"
    return ROW_STATEMENTS.get(kind, "")
