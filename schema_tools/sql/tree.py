"""PostgreSQL's own parse trees (libpg_query's JSON, through pglast) and what the model reads
from them: names as PostgreSQL stores them, types in format_type's spelling, expressions as
SQL text. A tree is a dict ``{"NodeTag": {fields}}``; fields at their default (0, false, "")
are left out, as libpg_query's JSON does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Node = dict[str, Any]


def parse_tree(sql: str) -> Node | None:
    """The tree of one statement, or None when PostgreSQL's parser refuses it (or pglast is
    not installed). The parser is loaded on first use: reading a tree's fields needs no parser."""
    import orjson

    from . import pgquery

    if not pgquery.available():  # pragma: no cover -- no wheel for this platform
        return None
    try:
        stmts = orjson.loads(pgquery.parse_json(sql)).get("stmts") or []
    except (pgquery.ParseError, ValueError, RecursionError):
        return None
    return stmts[0].get("stmt") if len(stmts) == 1 else None


def expression_tree(text: str) -> Node | None:
    """The tree of one expression's text (None when it is not exactly one expression)."""
    targets = body(parse_tree(f"SELECT {text}"), "SelectStmt").get("targetList") or []
    return body(targets[0], "ResTarget").get("val") if len(targets) == 1 else None


def tag(node: Any) -> str:
    """The node's type (``CreateStmt``, ``ColumnRef``...); "" for anything else."""
    if type(node) is dict and len(node) == 1:
        for key in node:
            return key  # type: ignore[no-any-return]
    return ""


def body(node: Any, expected: str | None = None) -> Node:
    """The node's fields ({} when it is not a node, or not of the ``expected`` type)."""
    if type(node) is dict and len(node) == 1:
        if expected is None:
            for inner in node.values():
                if type(inner) is dict:
                    return inner
        else:
            inner = node.get(expected)
            if type(inner) is dict:
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


def nodes(value: object, kind: str) -> Iterator[Node]:
    """The fields of every ``kind`` node within a tree, outermost first (walked without recursion:
    any depth the parser gives)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if len(item) == 1 and type(item.get(kind)) is dict:
                yield item[kind]
            stack.extend(reversed(item.values()))
        elif type(item) is list:
            stack.extend(reversed(item))


def index(value: object) -> dict[str, list[Node]]:
    """The fields of every node within a tree by node type, each list outermost first: one walk
    answers every later ``nodes`` question about the tree."""
    found: dict[str, list[Node]] = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if len(item) == 1:
                for kind, inner in item.items():
                    if type(inner) is dict:
                        found.setdefault(kind, []).append(inner)
            stack += [v for v in reversed(item.values()) if type(v) is dict or type(v) is list]  # leaves stay out
        elif type(item) is list:
            stack += [v for v in reversed(item) if type(v) is dict or type(v) is list]
    return found


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
