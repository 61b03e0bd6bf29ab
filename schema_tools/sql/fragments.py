"""SQL fragments from expectation files (types, defaults, CHECK and index expressions), made
safe to write into DDL: each must be exactly one type or one expression to PostgreSQL's own
parser, on one line, without comments (a ``--`` would silence the rest of a generated line)."""

from __future__ import annotations

from typing import Any


class Unsafe(ValueError):
    """A fragment that is not one type or one expression; the message says why."""


def _scan_problem(text: str) -> str | None:
    if not text.strip():
        return "it is empty"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "it holds a control character (a line break, a tab, a NUL...)"
    try:
        from pglast.parser import scan
    except ImportError:  # pragma: no cover -- no pglast wheel (Windows): refuse what may hide a comment
        return "it holds a comment" if "--" in text or "/*" in text else None
    try:
        tokens = scan(text)
    except Exception as exc:  # pglast raises its own ParseError and ValueError
        return str(exc).split(", at index")[0]
    if any(t.name in ("SQL_COMMENT", "C_COMMENT") for t in tokens):
        return "it holds a comment"
    return None


def _select(text: str) -> object:
    from pglast.parser import ParseError, parse_sql

    try:
        statements = parse_sql(text)
    except (ParseError, ValueError, RecursionError) as exc:
        raise Unsafe(str(exc).split(", at index")[0]) from None
    if len(statements) != 1:
        raise Unsafe("it ends the statement and adds another")
    stmt: Any = statements[0].stmt
    if type(stmt).__name__ != "SelectStmt" or stmt.op != 0 or stmt.fromClause or stmt.whereClause \
            or stmt.withClause or not stmt.targetList or len(stmt.targetList) != 1:
        raise Unsafe("it is not a single expression")
    return stmt.targetList[0].val


def expression(text: str, what: str) -> str:
    """``text`` when it is one SQL expression; else Unsafe naming ``what`` and why."""
    problem = _scan_problem(text)
    if problem is None:
        try:
            _select(f"SELECT ({text})")
            return text.strip()
        except ImportError:  # pragma: no cover
            return text.strip()
        except Unsafe as exc:
            problem = str(exc)
    raise Unsafe(f"{what} {text!r} is not one SQL expression: {problem}")


def sql_type(text: str, what: str) -> str:
    """``text`` when it is one SQL type name (the first of ``a | b`` alternatives)."""
    first = text.split("|")[0].strip()
    problem = _scan_problem(first)
    if problem is None:
        try:
            value = _select(f"SELECT NULL::{first}")
            if type(value).__name__ == "TypeCast":
                return first
            problem = "it is not a type name"
        except ImportError:  # pragma: no cover
            return first
        except Unsafe as exc:
            problem = str(exc)
    raise Unsafe(f"{what}: type {text!r} is not one SQL type: {problem}")


def not_one_expression(predicate: str) -> str | None:
    """Why ``predicate`` is not a single boolean expression (None: it is one), by PostgreSQL's
    own parser. Without pglast (Windows) the extended protocol still refuses a second statement."""
    try:
        from pglast.parser import ParseError, parse_sql
    except ImportError:  # pragma: no cover
        return None
    try:
        statements = parse_sql(f"SELECT 1 WHERE ({predicate})")  # as the check embeds it
    except (ParseError, ValueError, RecursionError) as exc:
        return str(exc).split(", at index")[0]
    return None if len(statements) == 1 else "it ends the statement and adds another"


def called(predicate: str) -> list[tuple[str, str | None, str]]:
    """The functions and operators an expression calls, by PostgreSQL's parser: ``(kind, schema
    or None, name)`` with kind "function" or "operator" (quoted names as written)."""
    try:
        from pglast.parser import ParseError, parse_sql_json
    except ImportError:  # pragma: no cover
        return []
    import orjson

    from .tree import nodes, strings

    try:
        tree = orjson.loads(parse_sql_json(f"SELECT 1 WHERE ({predicate})"))
    except (ParseError, ValueError, RecursionError):
        return []
    found: list[tuple[str, str | None, str]] = []
    for kind, node_type, field in (("function", "FuncCall", "funcname"), ("operator", "A_Expr", "name")):
        for node in nodes(tree, node_type):
            parts = strings(node.get(field))
            if parts:
                found.append((kind, parts[-2] if len(parts) > 1 else None, parts[-1]))
    return list(dict.fromkeys(found))
