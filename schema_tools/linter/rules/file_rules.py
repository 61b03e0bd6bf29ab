"""Rules over a whole migration file: a missing rollback, and no lock_timeout where one is needed.

missing-rollback.  Bad: 0004_x.sql alone.   Good: 0004_x.sql with 0004_x.rollback.sql.
missing-lock-timeout: a migration that takes a lock blocking writes (SHARE or stronger, up to
ACCESS EXCLUSIVE) on an existing table waits behind any long transaction on it -- and every
later query on the table waits behind the migration. Bound the wait:
Bad:   ALTER TABLE users ADD COLUMN plan text;
Good:  -- lock_timeout: 3s                (header read by schema-tools; or SET lock_timeout = '3s';)
       ALTER TABLE users ADD COLUMN plan text;
"""

from __future__ import annotations

import re

from ...findings import Finding
from ...sqltext.lock_levels import lock_for
from ...engine.files import Migration
from ...sqlmodel import DeclaredSchema, Parsed
from ...sqlmodel.pgtree import qualified, relation, strings

MISSING_ROLLBACK = "missing-rollback"
MISSING_LOCK_TIMEOUT = "missing-lock-timeout"
HELP = {MISSING_ROLLBACK: "migration without a rollback file",
        MISSING_LOCK_TIMEOUT: "lock that blocks writes on an existing table, without a lock_timeout"}
BLOCKING = ("SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE")
SETS_LOCK_TIMEOUT = re.compile(r"^\s*(SET\s+(LOCAL\s+|SESSION\s+)?lock_timeout\b|SELECT\s+set_config\s*\(\s*'lock_timeout')",
                               re.IGNORECASE)
ALTER_TARGET = re.compile(r'^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?("(?:[^"]|"")+"|[\w$.]+)', re.IGNORECASE)


def target_table(p: Parsed) -> str | None:
    """The table a statement alters, drops or indexes, when it names one."""
    tree = p.fields
    if p.kind in ("AlterTableStmt", "IndexStmt"):
        return relation(tree.get("relation"))
    if p.kind == "DropStmt" and tree.get("removeType") == "OBJECT_TABLE":
        objects = tree.get("objects") or ()
        return qualified(strings(objects[0])) if objects else None
    match = ALTER_TARGET.match(p.statement.sql)
    return match.group(1).strip('"').lower().removeprefix("public.") if match else None


def check_file(m: Migration, parsed: list[Parsed], schema: DeclaredSchema) -> list[Finding]:
    findings = []
    if m.rollback_text is None:
        findings.append(Finding(MISSING_ROLLBACK, f"{m.id} has no rollback file", object=m.id,
                                hint=f"write {m.rollback_path.name} (statements that undo this migration)",
                                file=str(m.path), line=1, column=1))
    if "lock_timeout" in m.directives or any(SETS_LOCK_TIMEOUT.match(p.statement.sql) for p in parsed):
        return findings
    for p in parsed:
        table = target_table(p)
        if not table or schema.created_in.get(table) == m.id:
            continue
        lock = lock_for(p.statement.sql).lock
        if lock in BLOCKING:
            article = "an" if lock[0] in "AEIOU" else "a"
            findings.append(Finding(MISSING_LOCK_TIMEOUT, f"this takes {article} {lock} lock on {table} with no "
                                    "lock_timeout: it can queue behind a long transaction and block traffic to the "
                                    "table meanwhile", object=m.id, hint="add '-- lock_timeout: 3s' to the header "
                                    "(or SET lock_timeout = '3s'; first)", file=str(m.path), line=p.statement.line,
                                    column=1))
            break
    return findings
