"""RENAME statements read from their text, the way PostgreSQL's grammar has them.

sqlglot reads ``ALTER TABLE person RENAME preferred_username TO display_name`` (COLUMN is
optional) as a table rename, and keeps RENAME CONSTRAINT as text; the model must not guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
QUALIFIED = rf"({NAME}(?:\s*\.\s*{NAME})?)"
_TABLE = (rf"^\s*ALTER\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW|FOREIGN\s+TABLE)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"
          rf"{QUALIFIED}\s*\*?\s+RENAME\s+")
_END = r"\s*;?\s*$"
TABLE_RENAME = re.compile(rf"{_TABLE}TO\s+({NAME}){_END}", re.IGNORECASE)
CONSTRAINT_RENAME = re.compile(rf"{_TABLE}CONSTRAINT\s+({NAME})\s+TO\s+({NAME}){_END}", re.IGNORECASE)
COLUMN_RENAME = re.compile(rf"{_TABLE}(?:COLUMN\s+)?(?!CONSTRAINT\b|TO\b)({NAME})\s+TO\s+({NAME}){_END}", re.IGNORECASE)
INDEX_RENAME = re.compile(rf"^\s*ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?{QUALIFIED}\s+RENAME\s+TO\s+({NAME}){_END}",
                          re.IGNORECASE)
# kind, pattern, and the groups holding (table, old name, new name): an index or a table is its own table
FORMS = (("index", INDEX_RENAME, (1, 1, 2)), ("table", TABLE_RENAME, (1, 1, 2)),
         ("constraint", CONSTRAINT_RENAME, (1, 2, 3)), ("column", COLUMN_RENAME, (1, 2, 3)))


@dataclass(frozen=True)
class Rename:
    """What a RENAME statement renames: ``kind`` is table, column, constraint or index; ``on``
    the table (for an index: the index itself); names as PostgreSQL stores them."""

    kind: str
    on: str
    old: str
    new: str


def unquote(name: str) -> str:
    """An identifier from SQL text as PostgreSQL stores it, ``public.`` dropped."""
    parts = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
             for p in re.findall(r'"(?:[^"]|"")+"|[^.\s]+', name)]
    if len(parts) == 2 and parts[0] == "public":
        parts = parts[1:]
    return ".".join(parts)


def read_rename(sql: str) -> Rename | None:
    """The rename ``sql`` performs, or None when it is not a RENAME of these forms."""
    for kind, pattern, groups in FORMS:
        match = pattern.match(sql)
        if match:
            return Rename(kind, *(unquote(match.group(g)) for g in groups))
    return None
