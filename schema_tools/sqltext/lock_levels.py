"""Which lock a statement takes: a table from statement kind to PostgreSQL lock level.

From the PostgreSQL documentation ("Explicit Locking" and each command's page). The first
matching row wins; text is matched with comments removed and whitespace folded. An ALTER TABLE
with several subcommands takes the strongest lock any of them needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TABLE_LEVEL = "ACCESS EXCLUSIVE"
_TABLE = r"(?:UNLOGGED\s+|TEMP(?:ORARY)?\s+)?TABLE"

LOCK_TABLE: tuple[tuple[str, str, str, str], ...] = (
    # pattern, kind, lock, what it means for traffic
    (r"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY", "CREATE INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^CREATE\s+(?:UNIQUE\s+)?INDEX", "CREATE INDEX", "SHARE", "blocks writes while the index builds"),
    (r"^DROP\s+INDEX\s+CONCURRENTLY", "DROP INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^DROP\s+INDEX", "DROP INDEX", "ACCESS EXCLUSIVE", "blocks reads and writes of the table"),
    (r"^REINDEX\b.*\bCONCURRENTLY\b", "REINDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^REINDEX", "REINDEX", "SHARE", "blocks writes; reads that use the index wait"),
    (rf"^CREATE\s+{_TABLE}\b.*\bPARTITION\s+OF\b", "CREATE TABLE PARTITION OF", "ACCESS EXCLUSIVE", "on the parent table"),
    (rf"^CREATE\s+{_TABLE}\b.*\bREFERENCES\b", "CREATE TABLE", "SHARE ROW EXCLUSIVE", "on the referenced tables; the new table is private"),
    (rf"^CREATE\s+{_TABLE}", "CREATE TABLE", "none", "a new table: nothing else waits"),
    (r"^ALTER\s+TABLE\b.*\bVALIDATE\s+CONSTRAINT\b", "VALIDATE CONSTRAINT", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^ALTER\s+TABLE\b.*\bDETACH\s+PARTITION\b.*\bCONCURRENTLY\b", "DETACH PARTITION CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^ALTER\s+TABLE\b.*\bATTACH\s+PARTITION\b", "ATTACH PARTITION", "SHARE UPDATE EXCLUSIVE", "on the parent; ACCESS EXCLUSIVE on the partition"),
    (r"^ALTER\s+TABLE\b.*\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b.*\bNOT\s+VALID\b", "ADD FOREIGN KEY NOT VALID", "SHARE ROW EXCLUSIVE", "brief: no scan; on both tables"),
    (r"^ALTER\s+TABLE\b.*\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b", "ADD FOREIGN KEY", "SHARE ROW EXCLUSIVE", "blocks writes to both tables while existing rows are checked"),
    (r"^ALTER\s+TABLE\b(?!.*\b(?:ADD|DROP|TYPE|RENAME|OWNER)\b).*\b(?:SET\s+STATISTICS|SET\s*\(|RESET\s*\(|CLUSTER\s+ON|SET\s+WITHOUT\s+CLUSTER)", "ALTER TABLE SET (storage)", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^ALTER\s+TABLE\b(?!.*\b(?:ADD|DROP|TYPE|RENAME|OWNER|SET)\b).*\b(?:ENABLE|DISABLE)\s+(?:ALWAYS\s+|REPLICA\s+)?TRIGGER\b",
     "ALTER TABLE ENABLE/DISABLE TRIGGER", "SHARE ROW EXCLUSIVE", "blocks writes to the table"),
    (r"^ALTER\s+TABLE", "ALTER TABLE", TABLE_LEVEL, "blocks reads and writes of the table"),
    (r"^ALTER\s+INDEX\b.*\bATTACH\s+PARTITION\b", "ALTER INDEX ATTACH PARTITION", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^ALTER\s+INDEX", "ALTER INDEX", TABLE_LEVEL, "on the index"),
    (rf"^DROP\s+{_TABLE}|^TRUNCATE\b", "DROP TABLE / TRUNCATE", TABLE_LEVEL, "blocks reads and writes of the table"),
    (r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER", "CREATE TRIGGER", "SHARE ROW EXCLUSIVE", "blocks writes to the table"),
    (r"^DROP\s+TRIGGER", "DROP TRIGGER", TABLE_LEVEL, "blocks reads and writes of the table"),
    (r"^CREATE\s+(?:OR\s+REPLACE\s+)?RULE", "CREATE RULE", TABLE_LEVEL, "blocks reads and writes of the table"),
    (r"^REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY", "REFRESH MATERIALIZED VIEW CONCURRENTLY", "EXCLUSIVE", "reads continue"),
    (r"^REFRESH\s+MATERIALIZED\s+VIEW", "REFRESH MATERIALIZED VIEW", TABLE_LEVEL, "blocks reads of the view"),
    (r"^(?:VACUUM|ANALY[SZ]E)\b", "VACUUM / ANALYZE", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^COMMENT\s+ON\b", "COMMENT", "SHARE UPDATE EXCLUSIVE", "reads and writes continue"),
    (r"^LOCK\b", "LOCK TABLE", "as written", "explicit lock"),
    (r"^(?:INSERT|UPDATE|DELETE|MERGE)\b", "DML", "ROW EXCLUSIVE", "row locks on the rows changed"),
    (r"^(?:SELECT|WITH|VALUES|COPY)\b", "query / COPY", "ACCESS SHARE", "or ROW EXCLUSIVE when writing"),
    (r"^ALTER\s+TYPE\b.*\bADD\s+VALUE\b", "ALTER TYPE ADD VALUE", "none on tables", "the new value is usable only after commit"),
    (r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|VIEW|MATERIALIZED\s+VIEW|TYPE|DOMAIN|SCHEMA|SEQUENCE|EXTENSION|AGGREGATE|COLLATION)\b",
     "CREATE (non-table object)", "none on tables", "ACCESS SHARE on tables it reads"),
    (r"^(?:GRANT|REVOKE|SET|RESET|CREATE\s+ROLE|ALTER\s+ROLE|ALTER\s+DEFAULT\s+PRIVILEGES)\b", "privileges / settings", "none on tables", ""),
    (r"^DROP\s+(?:FUNCTION|PROCEDURE|VIEW|TYPE|DOMAIN|SCHEMA|SEQUENCE|EXTENSION|MATERIALIZED\s+VIEW)\b", "DROP (non-table object)", TABLE_LEVEL, "on the object itself"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE | re.DOTALL), k, lock, note) for p, k, lock, note in LOCK_TABLE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_LOCK_MODE = re.compile(r"\bIN\s+([A-Z ]+?)\s+MODE\b", re.IGNORECASE)


@dataclass(frozen=True)
class LockInfo:
    kind: str
    lock: str
    note: str


def normalise(sql: str) -> str:
    """The statement without comments, whitespace folded."""
    return " ".join(_COMMENTS.sub(" ", sql).split())


STRENGTH = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
            "EXCLUSIVE", "ACCESS EXCLUSIVE")
_ALTER_TABLE = re.compile(r'^(ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:"(?:[^"]|"")+"|[\w$]+)'
                          r'(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?\s*\*?)\s+(.*)$', re.IGNORECASE | re.DOTALL)


def subcommands(text: str) -> list[str]:
    """The comma-separated parts of a text, commas inside parentheses or quotes left alone."""
    parts, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


def lock_for(sql: str) -> LockInfo:
    """The lock a statement takes, by its kind (for ALTER TABLE: the strongest its subcommands take)."""
    text = normalise(sql)
    match = _ALTER_TABLE.match(text)
    if match:
        parts = subcommands(match.group(2))
        if len(parts) > 1:
            infos = [_lock_of(f"{match.group(1)} {part}") for part in parts]
            strongest = max(infos, key=lambda i: STRENGTH.index(i.lock) if i.lock in STRENGTH else len(STRENGTH))
            kinds = " + ".join(dict.fromkeys(i.kind for i in infos))
            return LockInfo(kinds, strongest.lock, f"the strongest of {len(parts)} subcommands: {strongest.note}")
    return _lock_of(text)


def _lock_of(text: str) -> LockInfo:
    for pattern, kind, lock, note in _COMPILED:
        if pattern.search(text):
            if kind == "LOCK TABLE":
                mode = _LOCK_MODE.search(text)
                lock = mode.group(1).upper() if mode else TABLE_LEVEL
            return LockInfo(kind, lock, note)
    return LockInfo("other", "not analysed", "DO blocks and unusual statements are not analysed")
