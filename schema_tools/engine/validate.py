"""Does the database's migration history match the files? And what needs repair?

validate reports: migrations edited after they were applied, applied migrations whose file
is gone, applied migrations no file knows, pending migrations that sort before applied ones,
migrations applied without a checksum (by yoyo's own CLI), indexes left INVALID by a failed
concurrent build, and a stale ``yoyo_lock`` row.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from collections.abc import Mapping, Sequence

from ..config import Settings
from ..findings import Check, Finding, Report, Severity, folder as folder_rules
from ..migration_files.model import Migration, same_version
from . import history
from .lock import migration_lock

INVALID_INDEXES_SQL = """
SELECT n.nspname, c.relname, t.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1, 2
"""

RULE_HELP = {
    "edited-after-apply": "a migration file changed after it was applied",
    "missing-file": "a migration recorded with a checksum has no file any more",
    "unknown-applied": "the database records a migration that no file in the folder knows",
    "no-checksum": "a migration was applied without a content checksum (by yoyo's CLI?)",
    "out-of-order": "a pending migration sorts before migrations already applied",
    "invalid-index": "an index left INVALID by a failed CREATE INDEX CONCURRENTLY",
    "stale-yoyo-lock": "yoyo's own lock table holds a row",
    "unpaired-record": "our checksum table records a migration yoyo's table does not",
    **folder_rules.HELP,
}


def _history_checks(migrations: Sequence[Migration], done: Mapping[str, history.Applied], strict: bool) -> list[Check]:
    checks = []
    known = {m.id: m for m in migrations}
    applied_positions = [i for i, m in enumerate(migrations) if m.id in done]
    last_applied = max(applied_positions, default=-1)
    for index, m in enumerate(migrations):
        findings: list[Finding] = []
        record = done.get(m.id)
        if record and record.checksum is None:
            findings.append(Finding("no-checksum", f"{m.id} was applied without a checksum, so edits cannot be detected",
                                    Severity.WARNING, m.id, "run 'schema-tools repair' to record the current file's checksum",
                                    str(m.path), 1))
        elif record and record.checksum is not None and record.checksum != m.checksum and not m.repeatable:
            findings.append(Finding("edited-after-apply", f"{m.path.name} was edited after it was applied "
                                    f"(recorded {record.checksum[:12]}, file {m.checksum[:12]})", Severity.ERROR, m.id,
                                    "restore the applied version and put the change in a new migration; "
                                    "if the edit was deliberate and the database already matches it, run 'schema-tools repair'",
                                    str(m.path), 1))
        if record is None and index < last_applied and not m.repeatable:
            findings.append(Finding("out-of-order", f"{m.id} is pending but sorts before {migrations[last_applied].id}, "
                                    "which is applied", Severity.ERROR if strict else Severity.WARNING, m.id,
                                    "renumber it after the last applied migration, or apply it knowingly "
                                    "(it will run after newer ones)", str(m.path), 1))
        checks.append(Check(m.id, "migrations", tuple(findings)))
    for mid, record in done.items():
        if mid in known:
            continue
        if record.checksum is not None:
            finding = Finding("missing-file", f"{mid} is applied but its file is missing", Severity.ERROR, mid,
                              "restore the file; if it was removed on purpose, run 'schema-tools repair --forget-missing'")
        else:
            finding = Finding("unknown-applied", f"{mid} is recorded as applied (by yoyo, without a checksum) "
                              "but no file in the folder has that id", Severity.ERROR, mid,
                              "point --migrations at the folder it came from; if it is obsolete, run "
                              "'schema-tools repair --forget-missing'")
        checks.append(Check(mid, "migrations", (finding,)))
    return checks


def _database_checks(conn: psycopg.Connection, books: history.Books) -> list[Check]:
    invalid = []
    for schema, index, table in conn.execute(INVALID_INDEXES_SQL).fetchall():
        drop = sql.SQL("DROP INDEX CONCURRENTLY {}.{};").format(sql.Identifier(schema), sql.Identifier(index)).as_string(conn)
        invalid.append(Finding("invalid-index", f"index {index} on {table} is INVALID (a failed concurrent build): "
                               "it is maintained on every write but never used", Severity.ERROR,
                               index if schema == "public" else f"{schema}.{index}",
                               f"{drop} then fix the cause and run migrate again"))
    stale = []
    tables = history.existing(conn, books)
    if "yoyo_lock" in tables:
        for pid, ctime in conn.execute(f"SELECT pid, ctime FROM {books.table('yoyo_lock')}".encode()).fetchall():
            stale.append(Finding("stale-yoyo-lock", f"yoyo_lock holds a row from process {pid} since {ctime} UTC, "
                                 "left by yoyo's own CLI (killed or still running)", Severity.WARNING, "yoyo_lock",
                                 "schema-tools does not use it (it holds an advisory lock the server frees), but "
                                 "yoyo's CLI will wait on it: if no yoyo process runs, clear it with 'yoyo break-lock'"))
    unpaired = [Finding("unpaired-record", f"{mid} has a checksum row in {books.table('_schema_tools_migrations')} "
                        f"but no row in {books.table('_yoyo_migration')}: one of the two records is wrong "
                        "(yoyo's CLI rolled it back, or a history table was emptied or dropped)", Severity.ERROR, mid,
                        "if the migration is not applied, run 'schema-tools repair' to drop the stale checksum "
                        "row; if it is, record it again with 'schema-tools baseline'")
                for mid in history.unpaired(conn, books)]
    return [Check("no invalid index", "database", tuple(invalid)), Check("yoyo lock", "database", tuple(stale)),
            Check("records paired", "database", tuple(unpaired))]


def check_history(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration],
                  done: Mapping[str, history.Applied] | None = None, books: history.Books | None = None) -> Report:
    """Compare the database's history (``done``: already read) with the migration files."""
    books = history.locate(conn) if books is None else books
    done = history.applied(conn, books) if done is None else done
    checks = _history_checks(migrations, done, settings.strict_order) + _database_checks(conn, books)
    folder = [folder_rules.duplicate_version([m.path for m in group]) for group in same_version(migrations)]
    folder += [] if migrations else [folder_rules.empty_folder(settings.migrations_dir)]
    return Report("validate", (Check("migrations folder", "files", tuple(folder)), *checks), RULE_HELP)


def repair_history(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration],
              forget_missing: bool = False) -> list[str]:
    """Re-record checksums of edited or unchecksummed applied files; optionally forget records
    of applied migrations whose files are gone. Every change is logged in _schema_tools_events."""
    by_id = {m.id: m for m in migrations}
    actions: list[str] = []
    with migration_lock(conn, settings.lock_wait):
        books = history.locate(conn, writing=True)
        history.ensure_tables(conn, books)
        with conn.transaction():
            for mid in history.unpaired(conn, books):
                conn.execute(f"DELETE FROM {books.table('_schema_tools_migrations')} WHERE migration_id = %s".encode(),
                             (mid,))
                history.record_event(conn, books, "unpaired", mid, "checksum row without yoyo's record dropped")
                actions.append(f"dropped the checksum row of {mid} (yoyo's table does not record it as applied)")
            for mid, record in history.applied(conn, books).items():
                m = by_id.get(mid)
                if m is not None and record.checksum != m.checksum:
                    old = record.checksum or "none"
                    conn.execute(
                        f"INSERT INTO {books.table('_schema_tools_migrations')} (migration_id, checksum, applied_by, "
                        "duration_ms, transactional) VALUES (%s, %s, %s, 0, %s) ON CONFLICT (migration_id) DO UPDATE "
                        "SET checksum = EXCLUDED.checksum".encode(),
                        (mid, m.checksum, history.actor(), m.transactional))
                    history.record_event(conn, books, "repair", mid, f"checksum {old} -> {m.checksum}")
                    actions.append(f"re-recorded the checksum of {mid} ({old[:12]} -> {m.checksum[:12]})")
                elif m is None and forget_missing:
                    conn.execute(history.rollback_record(mid, books, operation="unmark"))
                    history.record_event(conn, books, "forget", mid, "applied migration without a file forgotten by repair")
                    actions.append(f"forgot {mid} (applied, but its file is gone; its objects stay in the database)")
    return actions
