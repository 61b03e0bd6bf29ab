"""Expressions printed from parse trees as SQL text PostgreSQL reads back as the same
expression; forms the printer does not know go to pglast's own deparser, found by position."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .identifiers import literal, quote
from .tree import Node, body, constant, expression_tree, strings, tag
from .typenames import type_text

class Unprintable(ValueError):
    """An expression form ``sql`` does not print itself (pglast's deparser does)."""


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
    return f"{'.'.join(quote(n) for n in names)}({'DISTINCT ' if f.get('agg_distinct') else ''}{args})"


def sql(node: Any) -> str:
    """SQL text of an expression tree (PostgreSQL reads it back as the same expression).
    Unprintable for forms it does not know; ``expression_sql`` then asks pglast."""
    kind, e = tag(node), body(node)
    if kind == "A_Const":
        if e.get("isnull"):
            return "NULL"
        value = constant(node)
        if "sval" in e:
            return literal(value)
        if "bsval" in e:
            return f"{value[0].upper()}'{value[1:]}'"
        if "boolval" in e:
            return "true" if value else "false"
        return str(value)
    if kind == "ColumnRef":
        fields = e.get("fields") or ()
        return ".".join("*" if tag(f) == "A_Star" else quote(body(f).get("sval", "")) for f in fields)
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


def expression_sql(node: Any, statement: str, offset: int = 0) -> str:
    """``sql`` of an expression of ``statement``; forms it does not print are printed by
    pglast's deparser (slower), found in pglast's own tree of the statement by position.
    ``offset``: where the statement starts (in bytes) in the text its tree was parsed from."""
    try:
        return sql(node)
    except (Unprintable, KeyError, IndexError, TypeError, ValueError):
        return _deparsed(node, statement, offset)


def _deparsed(node: Any, statement: str, offset: int) -> str:
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    kind, location = tag(node), body(node).get("location")
    if location is None:
        raise Unprintable(f"{kind} without a position")
    location = len(statement.encode()[:location - offset].decode(errors="ignore"))  # pglast's positions count characters

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


def rename_column(text: str, old: str, new: str) -> str:
    """An expression's text with column ``old`` renamed to ``new`` (as PostgreSQL shows it
    after a RENAME); unchanged when it cannot be read."""
    expression = expression_tree(text)
    if expression is None:
        return text

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
        from .glot import rename_column as by_sqlglot  # forms printed by pglast alone

        return by_sqlglot(text, old, new)
