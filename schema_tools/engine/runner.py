"""Apply, roll back and report migrations, always under the migration lock.

A transactional migration's statements, yoyo's record and our checksum row commit in one
transaction: after a crash at any instant the migration is applied and recorded, or
neither. A non-transactional one (``-- transactional: false``) runs statement by statement
in autocommit and is recorded once all of them succeeded.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from . import history
from ..config import Settings
from ..errors import DataLossRefused, MigrationError, MigrationFailed, ValidationFailed, VerificationFailed
from .lock import migration_lock
from .files import Migration, Statement, read_migrations, refuse_transaction_control
from .model import MigrationState, RunResult
from .validate import validate_on

Progress = Callable[[str], None]
Verify = Callable[[psycopg.Connection], list[str]]
Confirm = Callable[[list[str]], bool]
RELOCATE_LIMIT_SECONDS = 30.0
IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')

# What a new connection would have: no open cursors, role or settings a migration set, prepared
# statements, LISTENs, plans or temporary tables. (DISCARD ALL would also free our advisory lock.)
CLEAN_SESSION = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
                 "DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP")
NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
CONCURRENT_INDEX = re.compile(rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                              rf"({NAME}(?:\.{NAME})?)\s+ON\b", re.IGNORECASE)
INTENT = "index-intent"
SESSION_RESET = "RESET lock_timeout; RESET statement_timeout; RESET schema_tools.started"

BLOCKERS_SQL = """
SELECT DISTINCT a.pid, coalesce(nullif(a.application_name, ''), '?'), coalesce(a.state, '?'), c.relname
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.pid <> pg_backend_pid()
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND c.relname = ANY(%s)
ORDER BY a.pid
"""


def status_on(conn: psycopg.Connection, settings: Settings) -> list[MigrationState]:
    """Every migration in the folder or the database, applied or pending, in apply order."""
    migrations = read_migrations(settings.migrations_dir)
    done = history.applied(conn)
    known = {m.id for m in migrations}
    states = [MigrationState(m.id, "applied" if m.id in done else "pending",
                             done[m.id].applied_at if m.id in done else None) for m in migrations]
    missing = [MigrationState(a.id, "missing", a.applied_at) for a in done.values() if a.id not in known]
    return missing + states


def _blockers(conn: psycopg.Connection, sql: str) -> str:
    words = sorted({(q.replace('""', '"') if q else w.lower()) for q, w in IDENTIFIER.findall(sql)})
    rows = conn.execute(BLOCKERS_SQL, (words,)).fetchall()
    if not rows:
        return "the blocking session has since finished"
    return "; ".join(f"pid {pid} ({app}, {state}) holds a lock on {rel}" for pid, app, state, rel in rows)


def _newer_syntax(conn: psycopg.Connection, stmt: Statement) -> str:
    """When the server cannot read a statement that a newer PostgreSQL's grammar reads, say so."""
    try:
        from pglast.parser import ParseError, get_postgresql_version, parse_sql
    except ImportError:  # pragma: no cover -- no pglast wheel here
        return ""
    newest = get_postgresql_version()[0]
    server = conn.info.server_version // 10000
    if server >= newest:
        return ""
    try:
        parse_sql(stmt.sql)
    except (ParseError, ValueError, RecursionError):
        return ""
    return f"the statement is valid PostgreSQL {newest} syntax but the server is {server}: it may need a newer server"


def _fail(conn: psycopg.Connection, m: Migration, failure: _Failed, hint: str, text: str, file: str,
          refused: bool) -> MigrationError:
    """The error as psql would show it: file:line:column, DETAIL, HINT, the line and a caret."""
    exc, stmt = failure.exc, failure.stmt
    diag = exc.diag
    message = diag.message_primary or str(exc).splitlines()[0]
    if diag.message_detail:
        message += f" (DETAIL: {diag.message_detail})"
    if diag.message_hint:
        hint = f"{diag.message_hint} (PostgreSQL's hint); {hint}"
    if isinstance(exc, pg_errors.ActiveSqlTransaction):
        hint = f"add '-- transactional: false' to the header of {file}; " + hint
    kind = MigrationFailed if refused else MigrationError
    if stmt is None:
        return kind(f"{file}: {message}", migration_id=m.id, hint=hint)
    if isinstance(exc, pg_errors.SyntaxError):
        newer = _newer_syntax(conn, stmt)
        hint = f"{newer}; {hint}" if newer else hint
    line, column = stmt.location(failure.position)
    lines = text.splitlines()
    context: tuple[str, ...] = ()
    if failure.position and 0 < line <= len(lines):
        shown = f"LINE {line}: "
        context = (shown + lines[line - 1].expandtabs(1), " " * (len(shown) + column - 1) + "^")
    return kind(f"{file}:{line}:{column}: {message}", migration_id=m.id, line=line, hint=hint, context=context)


def _timeouts(m: Migration, settings: Settings) -> tuple[str, str]:
    return (m.directives.get("lock_timeout", settings.lock_timeout),
            m.directives.get("statement_timeout", settings.statement_timeout))


class _Failed(Exception):
    """A statement the server refused: ``position`` (1-based) is PostgreSQL's, within ``stmt``."""

    def __init__(self, stmt: Statement | None, exc: psycopg.Error, committed: list[Statement] | None = None,
                 position: int | None = None):
        super().__init__(str(exc))
        self.stmt, self.exc, self.committed, self.position = stmt, exc, committed, position


def _batch(conn: psycopg.Connection, m: Migration, statements: list[Statement], settings: Settings,
           record: sql.Composable, inside: bool = False) -> tuple[str, list[int]]:
    """One migration as one simple-protocol text: a clean session (each of its commands may run
    in a transaction), its timeouts, its statements, its record, and (unless ``inside`` a
    transaction the caller holds) BEGIN and COMMIT around them. Also where each statement starts."""
    lock_timeout, statement_timeout = _timeouts(m, settings)
    batch = ("" if inside else "BEGIN;\n") + CLEAN_SESSION + ";\n" + history.STARTED_NOW.format(local="true") + ";\n" + (
        f"SET LOCAL lock_timeout = {sql.Literal(lock_timeout).as_string(conn)};\n"
        f"SET LOCAL statement_timeout = {sql.Literal(statement_timeout).as_string(conn)};\n")
    offsets = []
    for stmt in statements:
        offsets.append(len(batch))
        batch += stmt.sql + "\n;\n"
    return batch + record.as_string(conn) + ("" if inside else ";\nCOMMIT;\n"), offsets


def _transactional(conn: psycopg.Connection, m: Migration, statements: list[Statement], settings: Settings,
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
            raise _Failed(statements[within[-1]], exc, position=position - offsets[within[-1]]) from None
        if inside:
            raise _Failed(None, exc) from None
        raise _locate(conn, m, statements, settings, exc, time.monotonic() - started) from None


def _locate(conn: psycopg.Connection, m: Migration, statements: list[Statement], settings: Settings,
            exc: psycopg.Error, elapsed: float) -> _Failed:
    """Find the failing statement by running them one by one in a transaction rolled back after.

    Only errors without a position need this, and only when the first run was short."""
    if elapsed > RELOCATE_LIMIT_SECONDS or isinstance(exc, pg_errors.LockNotAvailable):
        return _Failed(None, exc)
    with conn.transaction(force_rollback=True):
        lock_timeout, statement_timeout = _timeouts(m, settings)
        conn.execute("SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                     (lock_timeout, statement_timeout))
        for stmt in statements:
            try:
                with conn.transaction():
                    conn.execute(stmt.sql, prepare=False)
            except psycopg.Error as again:
                if type(again) is type(exc):
                    position = again.diag.statement_position
                    return _Failed(stmt, exc, position=int(position) if position else None)
                break
    return _Failed(None, exc)


def concurrent_indexes(statements: list[Statement]) -> dict[int, str]:
    """The named indexes ``CREATE INDEX CONCURRENTLY`` statements build, by statement index."""
    from ..sqltext.lock_levels import normalise

    found = {}
    for index, stmt in enumerate(statements):
        match = CONCURRENT_INDEX.match(normalise(stmt.sql))
        if match:
            found[index] = match.group(1)
    return found


def _invalid(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)).fetchone()
    return bool(row and row[0])


def heal(conn: psycopg.Connection, migrations: list[Migration]) -> list[str]:
    """Drop the INVALID indexes a failed or killed run of these migrations left (only those one
    recorded the intent to build: an INVALID index of someone else's is left for validate to report)."""
    building = [(m, name) for m in migrations if not m.transactional
                for name in concurrent_indexes(m.statements).values()]
    if not building:
        return []
    invalid = {row[0] for row in conn.execute(
        "SELECT name FROM unnest(%s::text[]) name JOIN pg_index i ON i.indexrelid = to_regclass(name) "
        "WHERE NOT i.indisvalid", ([name for _, name in building],))}
    healed = []
    for m, name in building:
        if name in invalid and conn.execute(
                "SELECT 1 FROM _schema_tools_events WHERE operation = %s AND migration_id = %s AND detail = %s",
                (INTENT, m.id, name)).fetchone():
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.SQL(name)))  # matched as a name
            history.record_event(conn, "index-healed", m.id, name)
            healed.append(f"dropped the INVALID index {name} a failed run of {m.id} left; building it again")
    return healed


def _autocommit(conn: psycopg.Connection, m: Migration, statements: list[Statement], settings: Settings,
                record: sql.Composable) -> None:
    """Statement by statement outside a transaction, then the record -- unless an index it
    builds CONCURRENTLY ended INVALID (an IF NOT EXISTS that met a leftover)."""
    lock_timeout, statement_timeout = _timeouts(m, settings)
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
                raise _Failed(stmt, exc, committed=statements[:index],
                              position=int(position) if position else None) from None
    except BaseException:
        conn.execute(SESSION_RESET)
        raise
    invalid = [name for name in building.values() if _invalid(conn, name)]
    if invalid:
        conn.execute(SESSION_RESET)
        raise MigrationFailed(f"{m.path.name}: index {invalid[0]} is INVALID after the migration ran (a failed "
                              "concurrent build it met and skipped); the migration was not recorded",
                              migration_id=m.id, hint=f"run migrate again: it drops the INVALID index and builds it "
                              f"(or DROP INDEX CONCURRENTLY {invalid[0]}; by hand)")
    # One round trip: the record committed on its own (its duration read from the session), the session reset.
    try:
        conn.execute(f"BEGIN; {record.as_string(conn)}; COMMIT; {SESSION_RESET}".encode(),
                     prepare=False)
    except psycopg.Error:
        conn.execute(f"ROLLBACK; {SESSION_RESET}")  # the record failed: the session must not stay aborted
        raise


def record_intents(conn: psycopg.Connection) -> bool:
    """True when the audit table exists (it does under migrate; a bare connection may lack it)."""
    return bool(conn.execute("SELECT to_regclass('_schema_tools_events') IS NOT NULL").fetchone()[0])  # type: ignore[index]


def run_migration(conn: psycopg.Connection, m: Migration, settings: Settings, rollback: bool = False,
                  inside: bool = False) -> int:
    """Apply or roll back one migration, retrying lock timeouts with backoff. ``inside`` a
    transaction the caller holds (transactional migrations only): no retry, no commit."""
    if m.transactional:
        refuse_transaction_control(m)
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
        except _Failed as failure:
            lock_timed_out = isinstance(failure.exc, pg_errors.LockNotAvailable)
            if lock_timed_out and attempt < settings.lock_retries and not failure.committed and not inside:
                attempt += 1
                time.sleep(min(0.5 * 2**attempt, 8))
                continue
            raise _explain(conn, m, failure, lock_timed_out, attempt, rollback) from None


def _explain(conn: psycopg.Connection, m: Migration, failure: _Failed, lock_timed_out: bool,
             retries: int, rollback: bool) -> MigrationError:
    verb = "rolled back" if rollback else "applied"
    if lock_timed_out:
        blocked = failure.stmt.sql if failure.stmt else "\n".join(s.sql for s in m.statements)
        hint = (f"gave up after {retries + 1} attempts: {_blockers(conn, blocked)}; "
                "run again when it is done, or raise lock_timeout")
    else:
        hint = f"fix the statement and run {'rollback' if rollback else 'migrate'} again"
    if failure.committed:
        lines = [str(s.line) for s in failure.committed]
        what = (f"the statement at line {lines[0]} was committed and stays" if len(lines) == 1
                else f"the statements at lines {', '.join(lines[:-1])} and {lines[-1]} were committed and stay")
        hint += (f"; {m.id} is not transactional: {what}, "
                 "and the whole file runs again next time, so make them idempotent "
                 "(IF [NOT] EXISTS) or undo them; validate lists any invalid index left")
    else:
        hint += f"; nothing of {m.id} was {verb}"
    text = (m.rollback_text or "") if rollback else m.text
    file = m.rollback_path.name if rollback else m.path.name
    return _fail(conn, m, failure, hint, text, file, refused=not lock_timed_out)


def with_dependencies(migrations: list[Migration], ids: Collection[str]) -> set[str]:
    """``ids`` and everything they depend on, transitively."""
    by_id = {m.id: m for m in migrations}
    wanted, todo = set(), [i for i in ids if i in by_id]
    while todo:
        current = todo.pop()
        if current not in wanted:
            wanted.add(current)
            todo.extend(by_id[current].depends)
    return wanted


def up_to(migrations: list[Migration], to: str) -> list[Migration]:
    """The migrations in apply order, through ``to``."""
    ids = [m.id for m in migrations]
    if to not in ids:
        raise MigrationError(f"--to {to}: no such migration in the folder",
                             hint="give the id of a migration file, without .sql (see schema-tools status)")
    return migrations[: ids.index(to) + 1]


def record_applied_on(conn: psycopg.Connection, settings: Settings, migrations: list[Migration], why: str) -> None:
    """Record ``migrations`` as applied without running them (one transaction, under the lock)."""
    with migration_lock(conn, settings.lock_wait):
        history.ensure_tables(conn)
        done = history.applied(conn)
        already = [m.id for m in migrations if m.id in done]
        if already:
            raise MigrationError(f"{already[0]} is already applied: a baseline adopts migrations no one applied",
                                 hint="run migrate for the rest, or baseline --to an earlier id")
        with conn.transaction():
            for m in migrations:
                conn.execute(history.apply_record(m))
                history.record_event(conn, "baseline", m.id, why)


def migrate_on(conn: psycopg.Connection, settings: Settings, progress: Progress | None = None,
               only: Collection[str] | None = None, verify: Verify | None = None, to: str | None = None) -> RunResult:
    """Apply every pending migration (or only ``only`` and what they depend on), in order, each
    atomically with its record. With ``verify``: the result must pass it (problems: a list of
    lines), or the database ends as it was -- one transaction for all when every pending
    migration is transactional, else their rollback files -- and VerificationFailed is raised."""
    migrations = read_migrations(settings.migrations_dir)
    wanted = with_dependencies(migrations, only) if only is not None else {m.id for m in migrations}
    if to is not None:
        wanted &= {m.id for m in up_to(migrations, to)}
    result = RunResult()
    with migration_lock(conn, settings.lock_wait):
        history.ensure_tables(conn)
        done = history.applied(conn)
        # What a killed run left INVALID would make validate refuse: heal it first.
        result.notes += heal(conn, [m for m in migrations if m.id not in done and m.id in wanted])
        report = validate_on(conn, settings, migrations, done)
        if report.errors:
            first = report.errors[0]
            raise ValidationFailed(
                f"validate found {len(report.errors)} problem(s), so nothing was applied; first: {first.message}",
                findings=list(report.findings),
                hint=f"{first.hint}; 'schema-tools validate' lists them all")
        result.notes.extend(f"{f.severity.value}: {f.message} (fix: {f.hint})" for f in report.findings)
        if progress:
            for note in result.notes:  # said before anything is applied, not after
                progress(note)
        pending = [m for m in migrations if m.id not in done and m.id in wanted]
        if verify is not None and pending and all(m.transactional for m in pending):
            _apply_verified(conn, pending, settings, verify, result)
            for mid, ms in result.done:
                if progress:
                    progress(f"applied {mid} ({ms} ms)")
            return result
        def applied(now: list[tuple[str, int]]) -> None:
            result.done.extend(now)
            for mid, ms in now:
                if progress:
                    progress(f"applied {mid} ({ms} ms)")

        index = 0
        while index < len(pending):
            group = _next_group(pending, index)
            now = _apply_group(conn, group, settings) if len(group) > 1 else []
            applied(now)
            if len(now) < len(group):  # alone, or what a group left: the one-by-one path, with its retries
                m = group[len(now)]
                applied([(m.id, run_migration(conn, m, settings, rollback=False))])
                now.append((m.id, 0))
            index += len(now)
        if verify is not None and pending:
            _verify_or_undo(conn, pending, settings, verify)
    return result


GROUP_MAX = 50
GROUP_BYTES = 256 * 1024


def _next_group(pending: list[Migration], start: int) -> list[Migration]:
    """Transactional migrations that follow each other go to the server together (each still in
    its own transaction, committed with its record); a non-transactional one goes alone."""
    group, size = [pending[start]], len(pending[start].text)
    for m in pending[start + 1:]:
        if not (group[0].transactional and m.transactional) or len(group) >= GROUP_MAX or size > GROUP_BYTES:
            break
        group.append(m)
        size += len(m.text)
    return group


def _apply_group(conn: psycopg.Connection, group: list[Migration], settings: Settings) -> list[tuple[str, int]]:
    """Send a group of transactional migrations in one round trip: ``BEGIN; ...; record; COMMIT``
    for each, back to back. PostgreSQL stops at the first error, whose transaction is rolled back,
    so the migrations before it are applied and recorded, and none after it ran. Returns those
    applied, with the duration their records hold; the caller runs the next one alone, which
    reports its error exactly (or, after a lock timeout, retries)."""
    for m in group:
        refuse_transaction_control(m)
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


def _apply_verified(conn: psycopg.Connection, pending: list[Migration], settings: Settings, verify: Verify,
                    result: RunResult) -> None:
    """All in one transaction, committed only when ``verify`` finds nothing."""
    done: list[tuple[str, int]] = []
    with conn.transaction():
        for m in pending:
            done.append((m.id, run_migration(conn, m, settings, inside=True)))
        problems = verify(conn)
        if problems:
            raise VerificationFailed(
                f"{len(problems)} problem(s) after applying {', '.join(m.id for m in pending)}; first: {problems[0]}",
                problems=problems, restored=True,
                hint="nothing was committed: the database is as it was (one transaction)")
    result.done.extend(done)


def _verify_or_undo(conn: psycopg.Connection, pending: list[Migration], settings: Settings, verify: Verify) -> None:
    """Applied one by one (some are not transactional): on problems, roll back with the rollback files."""
    problems = verify(conn)
    if not problems:
        return
    undone = []
    try:
        for m in reversed(pending):
            if m.rollback_text is None:
                raise MigrationError(f"{m.id} has no rollback file", migration_id=m.id)
            if m.irreversible:
                raise MigrationError(f"{m.id} cannot be rolled back: {m.irreversible}", migration_id=m.id)
            run_migration(conn, m, settings, rollback=True)
            undone.append(m.id)
    except MigrationError as exc:
        raise VerificationFailed(
            f"{len(problems)} problem(s) after applying {', '.join(m.id for m in pending)}; first: {problems[0]}",
            problems=problems, restored=False,
            hint=f"rolling back failed ({exc.one_line()}); rolled back: {', '.join(undone) or 'nothing'}") from None
    raise VerificationFailed(
        f"{len(problems)} problem(s) after applying {', '.join(m.id for m in pending)}; first: {problems[0]}",
        problems=problems, restored=True, hint=f"rolled back with their rollback files: {', '.join(undone)}")


def _to_roll_back(migrations: list[Migration], done: dict[str, history.Applied], to: str | None, everything: bool) -> list[Migration]:
    applied = [m for m in migrations if m.id in done]
    if to is not None:
        ids = [m.id for m in applied]
        if to not in ids:
            state = "pending" if any(m.id == to for m in migrations) else "unknown"
            raise MigrationError(f"--to {to}: that migration is {state}, not applied",
                                 hint="give the id of an applied migration (see schema-tools status)")
        return list(reversed(applied[ids.index(to) + 1:]))
    if everything:
        return list(reversed(applied))
    return list(reversed(applied))[:1]


DROP_TABLES = re.compile(rf"^(?:DROP\s+TABLE|TRUNCATE(?:\s+TABLE)?)\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"
                         rf"((?:{NAME}(?:\.{NAME})?\s*,\s*)*{NAME}(?:\.{NAME})?)", re.IGNORECASE)
ALTER_TABLE = re.compile(rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?({NAME}(?:\.{NAME})?)\s+(.*)$",
                         re.IGNORECASE | re.DOTALL)
DROP_COLUMN = re.compile(rf"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?!CONSTRAINT\b)({NAME})", re.IGNORECASE)
COUNT_CAP = 1_000_000


def _rows(conn: psycopg.Connection, table: str, column: str | None = None) -> int:
    """Rows of ``table`` (holding a value in ``column``), counted up to COUNT_CAP + 1."""
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]:  # type: ignore[index]
        return 0
    where = sql.SQL(" WHERE {} IS NOT NULL").format(sql.SQL(column)) if column else sql.SQL("")
    query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {}{} LIMIT {}) s").format(
        sql.SQL(table), where, sql.Literal(COUNT_CAP + 1))  # names as matched from the file: identifiers only
    try:
        with conn.transaction():
            return int(conn.execute(query).fetchone()[0])  # type: ignore[index]
    except psycopg.Error:  # no such column (yet), or no privilege: nothing to count
        return 0


def data_at_risk(conn: psycopg.Connection, plan: list[Migration]) -> list[str]:
    """The rows the rollback files of ``plan`` would drop (DROP TABLE, TRUNCATE, DROP COLUMN)."""
    from ..sqltext.lock_levels import normalise

    losses = []
    for m in plan:
        for stmt in m.rollback_statements:
            text = normalise(stmt.sql)
            targets: list[tuple[str, str | None]] = []
            dropped = DROP_TABLES.match(text)
            altered = ALTER_TABLE.match(text)
            if dropped:
                targets = [(name.strip(), None) for name in dropped.group(1).split(",")]
            elif altered:
                targets = [(altered.group(1), column) for column in DROP_COLUMN.findall(altered.group(2))]
            for table, column in targets:
                count = _rows(conn, table, column)
                if count:
                    shown = f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}"
                    what = f"column {table}.{column} holds values in {shown} row(s)" if column else f"{table} holds {shown} row(s)"
                    losses.append(f"{what} ({m.rollback_path.name}:{stmt.line})")
    return losses


def rollback_on(conn: psycopg.Connection, settings: Settings, *, to: str | None = None, everything: bool = False,
                progress: Progress | None = None, confirm: Confirm | None = None) -> RunResult:
    """Roll back the last applied migration, or all after ``to``, or all; each atomically. When
    the rollback files would drop rows, ``confirm`` (shown what) must say yes, else nothing is
    rolled back (DataLossRefused)."""
    migrations = read_migrations(settings.migrations_dir)
    result = RunResult()
    with migration_lock(conn, settings.lock_wait):
        history.ensure_tables(conn)
        done = history.applied(conn)
        missing = [mid for mid in done if mid not in {m.id for m in migrations}]
        if missing:
            raise MigrationError(f"applied migration {missing[0]} has no file in {settings.migrations_dir}",
                                 hint="restore the file (and its .rollback.sql) before rolling back")
        plan = _to_roll_back(migrations, done, to, everything)
        no_rollback = [m for m in plan if m.rollback_text is None]
        if no_rollback:
            raise MigrationError(f"{no_rollback[0].id} has no rollback file",
                                 migration_id=no_rollback[0].id,
                                 hint=f"write {no_rollback[0].rollback_path.name}; nothing was rolled back")
        declared = [m for m in plan if m.irreversible]
        if declared:
            raise MigrationError(f"{declared[0].id} cannot be rolled back: {declared[0].irreversible}",
                                 migration_id=declared[0].id,
                                 hint="nothing was rolled back; undo it with a new migration, or roll back only "
                                 "the migrations after it (rollback --to " + declared[0].id + ")")
        losses = data_at_risk(conn, plan)
        if losses and (confirm is None or not confirm(losses)):
            raise DataLossRefused(f"rolling back would drop data: {'; '.join(losses)}; nothing was rolled back",
                                  hint="back the data up; pass --yes to roll back anyway (the data is lost)")
        for m in plan:
            ms = run_migration(conn, m, settings, rollback=True)
            result.done.append((m.id, ms))
            if progress:
                progress(f"rolled back {m.id} ({ms} ms)")
    return result
