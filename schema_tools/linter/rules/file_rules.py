"""Rules over a whole migration file: a missing rollback, and no lock_timeout where one is needed.

missing-rollback.  Bad: 0004_x.sql alone.   Good: 0004_x.sql with 0004_x.rollback.sql.
missing-lock-timeout: a migration that takes a lock blocking writes (SHARE or stronger, up to
ACCESS EXCLUSIVE) on an existing table waits behind any long transaction on it -- and every
later query on the table waits behind the migration. Bound the wait:
Bad:   ALTER TABLE users ADD COLUMN plan text;
Good:  -- lock_timeout: 3s                (header read by schema-tools; or SET lock_timeout = '3s';)
       ALTER TABLE users ADD COLUMN plan text;
The runner sets its configured default ([tool.schema_tools] lock_timeout, 5s unless changed) on
every migration without a header: linted with the project's settings, the rule speaks only when
that default is 0 (no limit), as `plan` shows it. Without settings (the files alone, as yoyo
runs them) there is no default.
"""

from __future__ import annotations

from ...findings import Finding
from ...migration_files.model import Migration
from ...sql.tree import relation
from ...sqlmodel import DeclaredSchema, Parsed

MISSING_ROLLBACK = "missing-rollback"
MISSING_LOCK_TIMEOUT = "missing-lock-timeout"
HELP = {MISSING_ROLLBACK: "migration without a rollback file",
        MISSING_LOCK_TIMEOUT: "lock that blocks writes on an existing table, without a lock_timeout"}
BLOCKING = ("SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE")
TABLE_STATEMENTS = ("AlterTableStmt", "IndexStmt", "DropStmt", "RenameStmt", "AlterObjectSchemaStmt")
RENAMED_ON_TABLE = ("OBJECT_COLUMN", "OBJECT_TABCONSTRAINT")
"""Renames of a table's part: of a table unless the parser names another kind (a view's column)."""


def target_table(p: Parsed) -> str | None:
    """The table a statement alters, drops, renames, moves or indexes, when it names one."""
    kind, f = p.kind, p.fields
    if kind not in TABLE_STATEMENTS or kind == "DropStmt" and f.get("removeType") != "OBJECT_TABLE":
        return None
    if kind == "RenameStmt" and not (f.get("renameType") == "OBJECT_TABLE" or f.get("renameType") in RENAMED_ON_TABLE
                                     and f.get("relationType") in ("OBJECT_TABLE", "OBJECT_ACCESS_METHOD")):
        return None  # OBJECT_ACCESS_METHOD: the parser's "not set" for RENAME CONSTRAINT
    if kind == "AlterObjectSchemaStmt" and f.get("objectType") != "OBJECT_TABLE":
        return None
    if kind == "DropStmt":
        targets = p.statement.targets
        return targets[0].key if targets else None
    return relation(f.get("relation")) or None


def _sets_lock_timeout(p: Parsed) -> bool:
    """``SET lock_timeout = ...`` or ``set_config('lock_timeout', ...)`` (RESET and DEFAULT set none)."""
    if p.kind == "VariableSetStmt":
        return p.fields.get("kind") == "VAR_SET_VALUE" and p.fields.get("name") == "lock_timeout"
    return p.kind == "SelectStmt" and "lock_timeout" in p.statement.session_changes


def no_limit(timeout: str) -> bool:
    """A PostgreSQL timeout of 0 (with or without a unit): no limit at all."""
    number = timeout.strip().rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    try:
        return float(number) == 0
    except ValueError:
        return False


def check_file(m: Migration, parsed: list[Parsed], schema: DeclaredSchema, tables: list[str | None],
               default_lock_timeout: str | None = None) -> list[Finding]:
    """Rules over the whole file; ``tables``: each statement's ``target_table``;
    ``default_lock_timeout``: what the runner sets when the file sets none (None: nothing)."""
    findings = []
    if m.rollback_text is None and not m.no_rollback:  # a layout without rollbacks (Prisma) asks for none
        findings.append(Finding(MISSING_ROLLBACK, f"{m.id} has no rollback file", object=m.id,
                                hint=f"write {m.rollback_path.name} (statements that undo this migration)",
                                file=str(m.path), line=1, column=1))
    if "lock_timeout" in m.directives or any(_sets_lock_timeout(p) for p in parsed):
        return findings
    if default_lock_timeout is not None and not no_limit(default_lock_timeout):
        return findings  # the runner bounds the wait (plan shows the same lock_timeout)
    given = ("with lock_timeout 0 (no limit: [tool.schema_tools] lock_timeout)" if default_lock_timeout is not None
             else "with no lock_timeout")
    for p, table in zip(parsed, tables):
        if not table or schema.created_in.get(table) == m.id:
            continue
        lock = p.statement.lock.lock
        if lock in BLOCKING:
            article = "an" if lock[0] in "AEIOU" else "a"
            findings.append(Finding(MISSING_LOCK_TIMEOUT, f"this takes {article} {lock} lock on {table} {given}"
                                    ": it can queue behind a long transaction and block traffic to the "
                                    "table meanwhile", object=m.id, hint="add '-- lock_timeout: 3s' to the header "
                                    "(or SET lock_timeout = '3s'; first)", file=str(m.path), line=p.statement.line,
                                    column=1))
            break
    return findings
