"""SQL text compared by meaning, no database needed: two expressions that are the same text (but
for PostgreSQL's outer parentheses) are decided here; the rest by sqlglot (``glot``), imported
only then. Type spellings are ``typenames.normal_type``."""

from __future__ import annotations


def _bare(text: str) -> str:
    """The text without surrounding blanks and the pairs of parentheses around all of it (as
    PostgreSQL prints a CHECK or an index predicate); quoted text is never touched."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _closes_at_end(text: str) -> bool:
    """The parenthesis opening ``text`` is the one its last character closes."""
    depth, quote = 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def same(a: str | None, b: str | None) -> bool:
    """True when two expressions mean the same (as far as sqlglot's rewrites can tell)."""
    if a is None or b is None:
        if a is b:
            return True
    elif _bare(a) == _bare(b):
        return True
    from .glot import same as by_meaning

    return by_meaning(a, b)


def is_null(sql: str | None) -> bool:
    """True for a default that is NULL (``NULL``, ``NULL::character varying``): no default at all."""
    if sql is None:
        return False
    if _bare(sql).upper() == "NULL":
        return True
    from .glot import is_null as by_meaning

    return by_meaning(sql)


def in_list(sql: str, column: str) -> tuple[str, ...] | None:
    """The values of ``column IN (...)`` (or ``= ANY (ARRAY[...])``, ``=``, ``OR``-ed ``=``), else None."""
    from .glot import in_list as by_meaning

    return by_meaning(sql, column)
