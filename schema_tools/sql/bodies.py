"""The statements inside DO blocks and routine bodies, read with PostgreSQL's own parsers: SQL
bodies (quoted or BEGIN ATOMIC) as scripts, plpgsql through libpg_query's plpgsql parser. Each
SQL statement or expression a plpgsql body holds becomes a Statement of its own (an expression
as ``SELECT expression``); dynamic SQL (EXECUTE) is text built at run time, not read here."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from . import pgquery
from .tree import Node, body, strings

if TYPE_CHECKING:
    from .statement import Statement

RETURNS = ("void", "trigger", "integer", "SETOF record")  # RETURN; NEW and OLD; RETURN expression; RETURN NEXT
PLAIN_STATEMENT = 0  # PLpgSQL_expr parseMode RAW_PARSE_DEFAULT: a whole statement; others are expressions


def _options(items: Any) -> dict[str, Any]:
    return {body(i).get("defname", ""): body(i).get("arg") for i in items or ()}


def do_statements(s: Statement) -> tuple[Statement, ...]:
    """What a DO block runs (nothing for other statements, or a language other than plpgsql)."""
    if s.kind != "DoStmt":
        return ()
    options = _options(s.fields.get("args"))
    language = body(options.get("language"), "String").get("sval", "plpgsql")
    code = body(options.get("as"), "String").get("sval", "")
    return tuple(_plpgsql(code, "DO")) if language == "plpgsql" else ()


def routine_statements(s: Statement) -> tuple[Statement, ...]:
    """What a CREATE FUNCTION or PROCEDURE would run when called (SQL and plpgsql bodies)."""
    if s.kind != "CreateFunctionStmt":
        return ()
    from .script import read_script
    from .statement import Statement

    options = _options(s.fields.get("options"))
    language = body(options.get("language"), "String").get("sval", "sql")
    atomic = body(s.fields.get("sql_body"), "List").get("items")
    if atomic is not None:  # BEGIN ATOMIC ... END: the trees are already here
        return tuple(Statement(s.sql, s.line, s.column, tree=item) for group in atomic
                     for item in body(group, "List").get("items") or ())
    code = strings(options.get("as"))
    if len(code) != 1:  # no body, or a C function's (library, symbol)
        return ()
    if language == "sql":
        return read_script(code[0]).statements
    return tuple(_plpgsql(code[0], "FUNCTION")) if language == "plpgsql" else ()


def do_transaction_control(s: Statement) -> str:
    """COMMIT or ROLLBACK in a DO block's plpgsql, or ""."""
    options = _options(s.fields.get("args"))
    code = body(options.get("as"), "String").get("sval", "")
    for node in _plpgsql_nodes(_function(code)):
        for kind in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"):
            if kind in node:
                return f"{kind.rsplit('_', 1)[1].upper()} (in a DO block)"
    return ""


DYNAMIC = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")


def dynamic_sql(s: Statement) -> bool:
    """Whether a DO block or plpgsql routine runs SQL built at run time (EXECUTE, FOR ... EXECUTE,
    OPEN ... FOR EXECUTE): what it runs cannot be read."""
    if s.kind == "DoStmt":
        code = body(_options(s.fields.get("args")).get("as"), "String").get("sval", "")
    elif s.kind == "CreateFunctionStmt":
        code = next(iter(strings(_options(s.fields.get("options")).get("as"))), "")
    else:
        return False
    return any(kind in node or "dynquery" in node.get("PLpgSQL_stmt_open", {})
               for node in _plpgsql_nodes(_function(code)) for kind in DYNAMIC)


@functools.lru_cache(maxsize=64)
def _function(code: str) -> dict[str, Any] | None:
    """libpg_query's plpgsql tree of a body (None: it does not parse); read once per body (a DO
    block's statements and its transaction control are asked apart). Never modified."""
    if not pgquery.available():  # pragma: no cover
        return None
    tag = "$b$"
    while tag in code:
        tag = tag[:-1] + "b$"
    for returns in RETURNS:  # plpgsql's parser checks RETURN against the result type: try each shape
        try:
            parsed = orjson.loads(pgquery.plpgsql_json(
                f"CREATE FUNCTION f() RETURNS {returns} LANGUAGE plpgsql AS {tag}{code}{tag}"))
        except (pgquery.ParseError, ValueError, RecursionError):
            continue
        return parsed[0] if isinstance(parsed, list) and parsed else None
    return None


def _plpgsql_nodes(function: Node | None) -> Iterator[Node]:
    """Every dict in a plpgsql tree, in order."""
    stack: list[Any] = [function]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(reversed(value))


def _plpgsql(code: str, what: str) -> Iterator[Statement]:
    """The SQL of a plpgsql body: each statement and expression, in order (a body that does not
    parse is one unreadable statement: a reader that cannot tell must not call it harmless)."""
    from .statement import Statement

    function = _function(code)
    if function is None:
        yield Statement(f"-- a {what} body plpgsql cannot read", tree=None)
        return
    for node in _plpgsql_nodes(function):
        expr = node.get("PLpgSQL_expr")
        if not isinstance(expr, dict) or not expr.get("query"):
            continue
        query = expr["query"]
        if expr.get("parseMode", PLAIN_STATEMENT) == PLAIN_STATEMENT:
            yield Statement(query)
        else:  # an expression, or an assignment ``target := expression``
            head = query.split("'", 1)[0]  # ``:=`` before any string: an assignment's target
            value = query.split(":=", 1)[1] if ":=" in head else query
            yield Statement(f"SELECT {value}")
