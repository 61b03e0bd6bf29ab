"""Runs one migration's statements on the server and records it: a transactional migration as
one simple-protocol round trip (``BEGIN``, a clean session, its timeouts, its statements, its
record, ``COMMIT``); a non-transactional one statement by statement, recorded once all ran. Lock
timeouts are retried with backoff; consecutive transactional migrations go to the server together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from ..config import Settings
from ..errors import MigrationError, MigrationFailed
from ..migration_files.model import Migration
from ..sql.statement import Statement
from . import history
from .failures import Failed, explain
from .heal import INTENT, concurrent_indexes, heal, invalid, record_intents

RELOCATE_LIMIT_SECONDS = 30.0
# What a new connection would have: no open cursors, role or settings a migration set, prepared
# statements, LISTENs, plans or temporary tables. (DISCARD ALL would also free our advisory lock.)
CLEAN_SESSION = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
                 "DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP")
SESSION_RESET = "RESET lock_timeout; RESET statement_timeout; RESET schema_tools.started"
GROUP_MAX = 50
GROUP_BYTES = 256 * 1024


def refuse_unrunnable(m: Migration) -> None:
    """What the runner cannot run as written is refused before anything of the migration runs: in
    a transactional migration, a statement that begins, ends or prepares a transaction (the runner
    wraps it in one); in any, a COPY to or from the client (the runner has no rows to send and
    nowhere to put what comes back)."""
    for path, statements in ((m.path, m.statements), (m.rollback_path, m.rollback_statements)):
        for stmt in statements:
            if m.transactional and stmt.transaction_control:
                raise MigrationError(
                    f"{path.name}:{stmt.line}: {stmt.sql.split()[0].upper()} in a transactional migration",
                    migration_id=m.id, line=stmt.line,
                    hint="remove it: each migration already runs in its own transaction "
                    "(or add '-- transactional: false' to run the file statement by statement)")
            if stmt.client_copy:
                raise MigrationError(
                    f"{path.name}:{stmt.line}: {stmt.client_copy} in a migration", migration_id=m.id, line=stmt.line,
                    hint="the runner sends no rows and reads none back: write the rows as INSERT statements, "
                    "or copy them outside migrations (psql's \\copy)")


def timeouts(m: Migration, settings: Settings) -> tuple[str, str]:
    """The migration's lock_timeout and statement_timeout: its header's, else the settings'."""
    return (m.directives.get("lock_timeout", settings.lock_timeout),
            m.directives.get("statement_timeout", settings.statement_timeout))


def _batch(conn: psycopg.Connection, m: Migration, statements: Sequence[Statement], settings: Settings,
           record: sql.Composable, inside: bool = False) -> tuple[str, list[int]]:
    """One migration as one simple-protocol text: a clean session (each of its commands may run
    in a transaction), its timeouts, its statements, its record, and (unless ``inside`` a
    transaction the caller holds) BEGIN and COMMIT around them. Also where each statement starts."""
    lock_timeout, statement_timeout = timeouts(m, settings)
    batch = ("" if inside else "BEGIN;\n") + CLEAN_SESSION + ";\n" + history.STARTED_NOW.format(local="true") + ";\n" + (
        f"SET LOCAL lock_timeout = {sql.Literal(lock_timeout).as_string(conn)};\n"
        f"SET LOCAL statement_timeout = {sql.Literal(statement_timeout).as_string(conn)};\n")
    offsets = []
    for stmt in statements:
        offsets.append(len(batch))
        batch += stmt.sql + "\n;\n"
    return batch + record.as_string(conn) + ("" if inside else ";\nCOMMIT;\n"), offsets


def _transactional(conn: psycopg.Connection, m: Migration, statements: Sequence[Statement], settings: Settings,
                   record: sql.Composable, inside: bool = False) -> None:
    """The statements, the record and the commit in one round trip: one simple-protocol query.
    ``inside`` a transaction the caller holds: a savepoint instead, and no commit."""
    batch, offsets = _batch(conn, m, statements, settings, record, inside)
    started = time.monotonic()
    try:
        if inside:
            with conn.transaction():  # a savepoint: an error leaves the caller's transaction usable
                conn.execute(batch.encode(), prepare=False)
        else:
            conn.execute(batch.encode(), prepare=False)
    except psycopg.Error as exc:
        if not inside:
            conn.execute("ROLLBACK")
        position = int(exc.diag.statement_position or 0)
        within = [i for i, offset in enumerate(offsets) if offset < position]
        if within:
            raise Failed(statements[within[-1]], exc, position=position - offsets[within[-1]]) from None
        if inside:
            raise Failed(None, exc) from None
        raise _locate(conn, m, statements, settings, exc, time.monotonic() - started) from None


def _locate(conn: psycopg.Connection, m: Migration, statements: Sequence[Statement], settings: Settings,
            exc: psycopg.Error, elapsed: float) -> Failed:
    """Find the failing statement by running them one by one in a transaction rolled back after.

    Only errors without a position need this, and only when the first run was short."""
    if elapsed > RELOCATE_LIMIT_SECONDS or isinstance(exc, pg_errors.LockNotAvailable):
        return Failed(None, exc)
    with conn.transaction(force_rollback=True):
        lock_timeout, statement_timeout = timeouts(m, settings)
        conn.execute("SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                     (lock_timeout, statement_timeout))
        for stmt in statements:
            try:
                with conn.transaction():
                    conn.execute(stmt.sql, prepare=False)
            except psycopg.Error as again:
                if type(again) is type(exc):
                    position = again.diag.statement_position
                    return Failed(stmt, exc, position=int(position) if position else None)
                break
    return Failed(None, exc)


def _autocommit(conn: psycopg.Connection, m: Migration, statements: Sequence[Statement], settings: Settings,
                record: sql.Composable) -> None:
    """Statement by statement outside a transaction, then the record -- unless an index it
    builds CONCURRENTLY ended INVALID (an IF NOT EXISTS that met a leftover)."""
    lock_timeout, statement_timeout = timeouts(m, settings)
    conn.execute(f"{CLEAN_SESSION}; {history.STARTED_NOW.format(local='false')}; "
                 f"SET lock_timeout = {sql.Literal(lock_timeout).as_string(conn)}; "
                 f"SET statement_timeout = {sql.Literal(statement_timeout).as_string(conn)}".encode(), prepare=False)
    building = concurrent_indexes(statements)
    building = building if building and record_intents(conn) else {}
    try:
        for index, stmt in enumerate(statements):
            try:
                if index in building:
                    history.record_event(conn, INTENT, m.id, building[index])
                conn.execute(stmt.sql, prepare=False)
            except psycopg.Error as exc:
                position = exc.diag.statement_position
                raise Failed(stmt, exc, committed=list(statements[:index]),
                             position=int(position) if position else None) from None
    except BaseException:
        conn.execute(SESSION_RESET)
        raise
    left = [name for name in building.values() if invalid(conn, name)]
    if left:
        conn.execute(SESSION_RESET)
        raise MigrationFailed(f"{m.path.name}: index {left[0]} is INVALID after the migration ran (a failed "
                              "concurrent build it met and skipped); the migration was not recorded",
                              migration_id=m.id, hint=f"run migrate again: it drops the INVALID index and builds it "
                              f"(or DROP INDEX CONCURRENTLY {left[0]}; by hand)")
    # One round trip: the record committed on its own (its duration read from the session), the session reset.
    try:
        conn.execute(f"BEGIN; {record.as_string(conn)}; COMMIT; {SESSION_RESET}".encode(),
                     prepare=False)
    except psycopg.Error:
        conn.execute(f"ROLLBACK; {SESSION_RESET}")  # the record failed: the session must not stay aborted
        raise


def run_migration(conn: psycopg.Connection, m: Migration, settings: Settings, rollback: bool = False,
                  inside: bool = False) -> int:
    """Apply or roll back one migration, retrying lock timeouts with backoff. ``inside`` a
    transaction the caller holds (transactional migrations only): no retry, no commit."""
    refuse_unrunnable(m)
    statements = m.rollback_statements if rollback else m.statements
    record = history.rollback_record(m.id) if rollback else history.apply_record(m)
    attempt = 0
    while True:
        started = time.monotonic()
        if attempt and not m.transactional and not rollback and record_intents(conn):
            heal(conn, [m])  # a retry after a lock timeout: what the last attempt left (migrate heals a killed run's)
        try:
            if m.transactional:
                _transactional(conn, m, statements, settings, record, inside)
            else:
                _autocommit(conn, m, statements, settings, record)
            return int((time.monotonic() - started) * 1000)
        except Failed as failure:
            lock_timed_out = isinstance(failure.exc, pg_errors.LockNotAvailable)
            if lock_timed_out and attempt < settings.lock_retries and not failure.committed and not inside:
                attempt += 1
                time.sleep(min(0.5 * 2**attempt, 8))
                continue
            raise explain(conn, m, failure, lock_timed_out, attempt, rollback) from None


def next_group(pending: Sequence[Migration], start: int) -> list[Migration]:
    """Transactional migrations that follow each other go to the server together (each still in
    its own transaction, committed with its record); a non-transactional one goes alone."""
    group, size = [pending[start]], len(pending[start].text)
    for m in pending[start + 1:]:
        if not (group[0].transactional and m.transactional) or len(group) >= GROUP_MAX or size > GROUP_BYTES:
            break
        group.append(m)
        size += len(m.text)
    return group


def apply_group(conn: psycopg.Connection, group: Sequence[Migration], settings: Settings) -> list[tuple[str, int]]:
    """Send a group of transactional migrations in one round trip: ``BEGIN; ...; record; COMMIT``
    for each, back to back. PostgreSQL stops at the first error, whose transaction is rolled back,
    so the migrations before it are applied and recorded, and none after it ran. Returns those
    applied, with the duration their records hold; the caller runs the next one alone, which
    reports its error exactly (or, after a lock timeout, retries)."""
    for m in group:
        refuse_unrunnable(m)
    blocks = [_batch(conn, m, m.statements, settings, history.apply_record(m))[0] for m in group]
    try:
        conn.execute("".join(blocks).encode(), prepare=False)
    except psycopg.Error:
        conn.execute("ROLLBACK")  # the failed one's transaction
    ids = [m.id for m in group]
    durations: dict[str, int] = dict(conn.execute("SELECT migration_id, duration_ms FROM _schema_tools_migrations "
                                                  "WHERE migration_id = ANY(%s)", (ids,)).fetchall())
    done = []
    for mid in ids:  # in order: a later one cannot have run after an earlier one failed
        if mid not in durations:
            break
        done.append((mid, int(durations[mid])))
    return done
