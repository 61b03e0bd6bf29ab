"""Identifiers written back into SQL (the fixes hints suggest): quoted whenever PostgreSQL would
not read them back as the same name, so a hostile name stays a name."""

from __future__ import annotations

import functools
import re

PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column
concurrently constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze from
full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit
localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references
returning right select session_user similar some symmetric system_user table tablesample then to trailing true union
unique user using variadic verbose when where window with
""".split())


@functools.lru_cache(maxsize=4096)
def quote(name: str) -> str:
    """``name`` as SQL: bare when PostgreSQL reads it back unchanged, else double-quoted (the
    same few names are quoted again and again: type names, columns)."""
    if PLAIN.match(name) and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``schema.name`` quoted as needed, the public schema left out."""
    return quote(name) if schema == "public" else f"{quote(schema)}.{quote(name)}"


def literal(value: str) -> str:
    """A string as an SQL literal (quotes doubled; backslashes are plain with standard strings)."""
    return "'" + value.replace("'", "''") + "'"

