"""Runs one migration's statements on the work connection and records it.

A transactional migration is one simple-protocol round trip: ``BEGIN`` (saying its isolation
and read-write mode), the pinned session, its timeouts, its statements, its record, ``COMMIT``.
A non-transactional one is pinned, then run statement by statement, and recorded once all ran.
COPY ... FROM stdin with the rows inline (as pg_dump writes them) goes through COPY. Whether a
statement ran is read from the server's replies; lock timeouts are retried with backoff;
consecutive transactional migrations go to the server together.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq

from ..config import Settings
from ..errors import MigrationFailed
from ..migration_files.model import Migration
from ..sql.statement import Statement
from . import history
from .failures import Failed, explain
from .heal import INTENT, concurrent_indexes, heal, invalid, qualified_index
from .refuse import refuse_unrunnable
from .session import BEGIN, OURS_ONLY, Interrupts, Replies, Session, drifted, lost_connection, repin, send

SESSION_RESET = "RESET lock_timeout; RESET statement_timeout; RESET schema_tools.started"
GROUP_MAX = 50
GROUP_BYTES = 256 * 1024


class Stopped(Exception):
    """A signal stopped a migration: ``running`` says what was running; ``committed`` what of it
    stays; ``applied``: the migrations sent with it that the server committed first."""

    def __init__(self, running: str, committed: str = "", applied: Sequence[tuple[str, int]] = ()) -> None:
        super().__init__(running)
        self.running, self.committed, self.applied = running, committed, list(applied)


@dataclass(frozen=True)
class Work:
    """Where migrations run: the work connection, the bookkeeping's place, the session each
    migration starts from, the signals watched, and the connection that records intents (the
    control connection; the work one when there is a single connection, as on a scratch copy)."""

    conn: psycopg.Connection
    books: history.Books
    session: Session
    interrupts: Interrupts | None = None
    control: psycopg.Connection | None = None

    @property
    def recorder(self) -> psycopg.Connection:
        return self.control or self.conn

    def interrupted(self) -> bool:
        return self.interrupts is not None and self.interrupts.signal != 0


def on_connection(conn: psycopg.Connection, books: history.Books | None = None) -> Work:
    """One connection doing both jobs (a scratch database nobody else uses: no lock to protect)."""
    from .session import session_of

    conn.prepare_threshold = None  # the pin deallocates prepared statements: psycopg must not keep any
    row = conn.execute("SELECT pg_catalog.current_setting('search_path')").fetchone()
    return Work(conn, books or history.locate(conn, writing=True), session_of(conn, str(row[0]) if row else ""))


def timeouts(m: Migration, settings: Settings) -> tuple[str, str]:
    """The migration's lock_timeout and statement_timeout: its header's, else the settings';
    never longer than the settings' caps (a harness's, for migrations it does not trust)."""
    return (settings.capped_timeout("lock_timeout", m.directives.get("lock_timeout", settings.lock_timeout)),
            settings.capped_timeout("statement_timeout",
                                    m.directives.get("statement_timeout", settings.statement_timeout)))


def _prefix(work: Work, m: Migration, settings: Settings, local: bool) -> list[str]:
    """The statements a migration starts with: the pinned session, when it started, its timeouts."""
    lock_timeout, statement_timeout = timeouts(m, settings)
    scope = "LOCAL " if local else ""
    return [work.session.pin, history.STARTED_NOW.format(local="true" if local else "false"),
            f"SET {scope}lock_timeout = {history.literal(lock_timeout)}",
            f"SET {scope}statement_timeout = {history.literal(statement_timeout)}"]


def _count(statements: Sequence[str]) -> int:
    return sum(s.count(";") + 1 for s in statements)


@dataclass
class Block:
    """One migration's transaction as text: where each statement starts, how many replies come
    before its first statement."""

    m: Migration
    text: str
    offsets: list[int]
    before: int
    statements: Sequence[Statement]


def _block(work: Work, m: Migration, statements: Sequence[Statement], settings: Settings, record: str,
           inside: bool = False) -> Block:
    """``BEGIN``, the prefix, the statements, the record, ``COMMIT`` (inside a transaction the
    caller holds: no BEGIN or COMMIT)."""
    head = ([] if inside else [BEGIN]) + _prefix(work, m, settings, local=True)
    text = ";\n".join(head) + ";\n"
    offsets = []
    for stmt in statements:
        offsets.append(len(text))
        text += stmt.sql + "\n;\n"
    text += f"{OURS_ONLY};\n{record}" + (f";\n{work.session.path_again}" if inside else ";\nCOMMIT;\n")
    return Block(m, text, offsets, _count(head), statements)


def _at_position(block: Block, exc: psycopg.Error) -> Failed | None:
    """The statement of ``block`` holding the server's error position, if it gives one there."""
    position = int(exc.diag.statement_position or 0)
    within = [i for i, offset in enumerate(block.offsets) if offset < position]
    if not position or not within:
        return None
    return Failed(block.statements[within[-1]], exc, position=position - block.offsets[within[-1]])


def _failed_statement(block: Block, replies: Replies, first: int) -> Failed:
    """The statement of ``block`` the error stopped at: by the server's position when it gives
    one, else by counting its replies (``first``: the index of the block's first reply)."""
    assert replies.error is not None
    exc = replies.error
    located = _at_position(block, exc)
    if located is not None:
        return located
    index = replies.index_of_error() - first - block.before
    if 0 <= index < len(block.statements):
        return Failed(block.statements[index], exc)
    return Failed(None, exc)


def _running(block: Block, replies: Replies, first: int) -> str:
    index = replies.index_of_error() - first - block.before
    where = f"statement {index + 1} of {len(block.statements)}" if 0 <= index < len(block.statements) else "its record"
    return f"{where} of {block.m.path.name} was running"


def _transactional(work: Work, m: Migration, statements: Sequence[Statement], settings: Settings,
                   record: str, inside: bool = False) -> None:
    """The statements, the record and the commit in one round trip (a savepoint, ``inside`` a
    transaction the caller holds). Rows given inline to COPY go between round trips."""
    if any(s.copy_data is not None for s in statements):
        return _with_copy(work, m, statements, settings, record, inside)
    repin(work.conn, work.session)
    block = _block(work, m, statements, settings, record, inside)
    if inside:
        try:
            with work.conn.transaction():  # a savepoint: an error leaves the caller's transaction usable
                work.conn.execute(block.text.encode(work.conn.info.encoding), prepare=False)
        except psycopg.Error as exc:
            raise (_at_position(block, exc) or Failed(None, exc)) from None
        return
    replies = send(work.conn, block.text)
    if replies.lost is not None:
        if work.interrupted():
            raise Stopped(_running(block, replies, 0) + " (its session was ended: the cancel was not heeded)")
        raise lost_connection(replies.lost, _running(block, replies, 0)) from None
    if replies.error is not None:
        send(work.conn, "ROLLBACK")
        if work.interrupted():
            raise Stopped(_running(block, replies, 0))
        raise _failed_statement(block, replies, 0)


def _with_copy(work: Work, m: Migration, statements: Sequence[Statement], settings: Settings,
               record: str, inside: bool) -> None:
    """A transaction holding COPY ... FROM stdin rows: the statements between COPYs go as one
    query each, the rows through COPY, all in one transaction."""
    conn = work.conn
    repin(conn, work.session)
    try:
        with conn.transaction(force_rollback=False) if inside else _explicit(conn):
            conn.execute(";\n".join(_prefix(work, m, settings, local=True)).encode(), prepare=False)
            for stmt in statements:
                _one(conn, stmt)
            conn.execute(f"{OURS_ONLY};\n{record}".encode(), prepare=False)
            if inside:
                conn.execute(work.session.path_again)
    except psycopg.OperationalError as exc:
        raise lost_connection(exc, f"{m.path.name} ran (rows for COPY in it)") from None
    except _StatementFailed as failure:
        if work.interrupted():
            raise Stopped(f"statement {list(statements).index(failure.stmt) + 1} of {len(statements)} of "
                          f"{m.path.name} was running") from None
        raise Failed(failure.stmt, failure.exc, position=failure.position) from None


class _explicit:
    """BEGIN (saying what it is) ... COMMIT, or ROLLBACK on an error, on an autocommit connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute(BEGIN)

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if self.conn.closed:
            return
        self.conn.execute("ROLLBACK" if kind is not None else "COMMIT")


class _StatementFailed(Exception):
    def __init__(self, stmt: Statement, exc: psycopg.Error, position: int | None) -> None:
        super().__init__(str(exc))
        self.stmt, self.exc, self.position = stmt, exc, position


def _one(conn: psycopg.Connection, stmt: Statement) -> None:
    """One statement (its inline rows through COPY); its error says where it failed."""
    try:
        if stmt.copy_data is not None:
            with conn.cursor().copy(stmt.sql.encode(conn.info.encoding)) as copy:
                copy.write(stmt.copy_data)
        else:
            conn.execute(stmt.sql.encode(conn.info.encoding), prepare=False)
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        position = exc.diag.statement_position
        raise _StatementFailed(stmt, exc, int(position) if position else None) from None


def _autocommit(work: Work, m: Migration, statements: Sequence[Statement], settings: Settings,
                record: str) -> None:
    """Statement by statement outside a transaction, then the record -- unless an index it
    builds CONCURRENTLY ended INVALID (an IF NOT EXISTS that met a leftover), or a statement
    changed how the server reads the next one."""
    conn = work.conn
    repin(conn, work.session)
    pinned = send(conn, ";\n".join(_prefix(work, m, settings, local=False)))
    if not pinned.ok:
        raise lost_connection(pinned.lost, f"{m.path.name} started") if pinned.lost else Failed(None, pinned.error)  # type: ignore[arg-type]
    building = concurrent_indexes(statements)
    settled = 0  # the statements before it are committed (not inside a BEGIN the file opened)
    try:
        for index, stmt in enumerate(statements):
            if conn.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                settled = index
            committed = list(statements[:settled])
            if work.interrupted():
                raise Stopped(f"{m.path.name} was between statements {index} and {index + 1} of {len(statements)}",
                              _committed_lines(committed))
            if index in building:
                building[index] = qualified_index(conn, stmt, building[index])
                history.record_event(work.recorder, work.books, INTENT, m.id, building[index])
            try:
                _one(conn, stmt)
            except psycopg.OperationalError as exc:
                if work.interrupted():
                    raise Stopped(f"statement {index + 1} of {len(statements)} of {m.path.name} was running (its "
                                  "session was ended: the cancel was not heeded)", _committed_lines(committed)) from None
                raise lost_connection(exc, f"statement {index + 1} of {len(statements)} of {m.path.name} ran "
                                      f"({_committed_lines(committed) or 'none of it had committed'})") from None
            except _StatementFailed as failure:
                if work.interrupted():
                    raise Stopped(f"statement {index + 1} of {len(statements)} of {m.path.name} was running",
                                  _committed_lines(committed)) from None
                raise Failed(stmt, failure.exc, committed=committed, position=failure.position) from None
            changed = drifted(conn)
            if changed:
                raise MigrationFailed(
                    f"{m.path.name}:{stmt.line}: the statement changed {changed}, so the server would read what follows "
                    f"differently from every tool that read the file; {_committed_lines(statements[:index + 1])}, "
                    "the rest did not run and the migration is not recorded", migration_id=m.id, line=stmt.line,
                    hint="remove that change (the runner keeps standard_conforming_strings on and client_encoding "
                    "UTF8)")
    except BaseException:
        _settle(conn)
        raise
    left = [name for name in building.values() if invalid(work.recorder, name)]
    if left:
        _settle(conn)
        raise MigrationFailed(f"{m.path.name}: index {left[0]} is INVALID after the migration ran (a failed "
                              "concurrent build it met and skipped); the migration was not recorded",
                              migration_id=m.id, hint=f"run migrate again: it drops the INVALID index and builds it "
                              f"(or DROP INDEX CONCURRENTLY {left[0]}; by hand)")
    if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        _settle(conn)
        raise MigrationFailed(f"{m.path.name}: the migration left a transaction open (a BEGIN without its COMMIT); "
                              "what it did in it was rolled back and the migration is not recorded",
                              migration_id=m.id, hint="end the transaction in the file (COMMIT), or drop the BEGIN")
    # One round trip: the record committed on its own (its duration read from the session) in a pinned session.
    lock_timeout = history.literal(timeouts(m, settings)[0])
    replies = send(conn, f"{BEGIN}; {work.session.identity}; SET LOCAL lock_timeout = {lock_timeout}; {OURS_ONLY}; "
                         f"{record}; COMMIT; {SESSION_RESET}")
    if replies.lost is not None:
        raise lost_connection(replies.lost, f"{m.path.name} was being recorded (all its statements had run)")
    if replies.error is not None:
        _settle(conn)
        if work.interrupted():
            raise Stopped(f"{m.path.name} was being recorded: its statements ran but it is not recorded, so it runs "
                          "again next time", _committed_lines(statements))
        message = " ".join((replies.error.diag.message_primary or str(replies.error)).split())
        raise MigrationFailed(f"{m.path.name}: its statements ran, but recording it failed ({message}); it is not "
                              "recorded, so it runs again next time", migration_id=m.id,
                              hint="make its statements idempotent (IF [NOT] EXISTS), find what blocked the record, "
                              "and run migrate again")


def _committed_lines(committed: Sequence[Statement]) -> str:
    if not committed:
        return ""
    if len(committed) == 1:
        return f"the statement at line {committed[0].line} committed and stays"
    return f"the statements at lines {', '.join(str(s.line) for s in committed)} committed and stay"


def _settle(conn: psycopg.Connection) -> None:
    """Out of whatever transaction a failed statement left (a BEGIN in a non-transactional file),
    and the runner's settings reset: the session must not stay aborted."""
    if conn.closed:
        return
    try:
        if conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        conn.execute(SESSION_RESET)
    except psycopg.Error:
        pass


def run_migration(work: Work, m: Migration, settings: Settings, rollback: bool = False,
                  inside: bool = False) -> int:
    """Apply or roll back one migration, retrying lock timeouts with backoff. ``inside`` a
    transaction the caller holds (transactional migrations only): no retry, no commit."""
    refuse_unrunnable(m)
    statements = m.rollback_statements if rollback else m.statements
    record = _record(work, m, rollback)
    attempt = 0
    while True:
        started = time.monotonic()
        if attempt and not m.transactional and not rollback:
            heal(work.recorder, work.books, [m])  # a retry after a lock timeout: what the last attempt left
        try:
            if m.transactional:
                _transactional(work, m, statements, settings, record, inside)
            else:
                _autocommit(work, m, statements, settings, record)
            return int((time.monotonic() - started) * 1000)
        except Failed as failure:
            lock_timed_out = isinstance(failure.exc, pg_errors.LockNotAvailable)
            if lock_timed_out and attempt < settings.lock_retries and not failure.committed and not inside:
                attempt += 1
                time.sleep(min(0.5 * 2**attempt, 8))
                continue
            raise explain(work.recorder, m, failure, lock_timed_out, attempt, rollback) from None


def roll_back_inside(work: Work, m: Migration, settings: Settings) -> None:
    """``m``'s rollback statements and their record in the transaction the caller holds, whatever
    ``m``'s header says (the caller checks the result before it commits)."""
    refuse_unrunnable(m)
    try:
        _transactional(work, m, m.rollback_statements, settings, _record(work, m, True), inside=True)
    except Failed as failure:
        raise explain(work.recorder, m, failure, False, 0, True) from None


def _record(work: Work, m: Migration, rollback: bool = False) -> str:
    """The record statement and the check of what it wrote, for one transaction."""
    if rollback:
        return f"{history.rollback_record_text(m.id, work.books)};\n{history.records_check_text(m.id, work.books, None)}"
    return f"{history.apply_record_text(m, work.books)};\n{history.records_check_text(m.id, work.books, m.checksum)}"


def next_group(pending: Sequence[Migration], start: int) -> list[Migration]:
    """Transactional migrations that follow each other go to the server together (each still in
    its own transaction, committed with its record); a non-transactional one, or one with rows
    for COPY, goes alone."""
    group, size = [pending[start]], len(pending[start].text)
    if not _groupable(group[0]):
        return group
    for m in pending[start + 1:]:
        if not _groupable(m) or len(group) >= GROUP_MAX or size > GROUP_BYTES:
            break
        group.append(m)
        size += len(m.text)
    return group


def _groupable(m: Migration) -> bool:
    """Alone: a non-transactional migration, one with rows for COPY, and one PostgreSQL's parser
    refuses (an unclosed quote in it would swallow what follows it in a shared batch; alone, the
    server refuses the whole query before running any of it)."""
    return m.transactional and m.syntax_problem is None and all(s.copy_data is None for s in m.statements)


def apply_group(work: Work, group: Sequence[Migration], settings: Settings) -> list[tuple[str, int]]:
    """Send a group of transactional migrations in one round trip: ``BEGIN; ...; record; COMMIT``
    for each, back to back. PostgreSQL stops at the first error, whose transaction is rolled back,
    so the migrations before it are applied and recorded, and none after it ran. Returns those
    applied (the server's replies say which: a record followed by its COMMIT), with the duration
    each record holds; the caller runs the next one alone, which reports its error exactly (or,
    after a lock timeout, retries)."""
    for m in group:
        refuse_unrunnable(m)
    blocks = [_block(work, m, m.statements, settings, _record(work, m)) for m in group]
    repin(work.conn, work.session)
    replies = send(work.conn, "".join(b.text for b in blocks))
    done = committed(replies, group)
    if replies.lost is not None and work.interrupted():
        failed = blocks[len(done)] if len(done) < len(blocks) else blocks[-1]
        raise Stopped(_running(failed, replies, _first_reply(replies, len(done))) + " (its session was ended: the "
                      "cancel was not heeded)", applied=done)
    if replies.lost is not None:
        raise lost_connection(replies.lost, f"{len(group)} migrations were sent together ({len(done)} committed: "
                              f"{', '.join(mid for mid, _ in done) or 'none'})")
    if replies.error is not None:
        send(work.conn, "ROLLBACK")  # the failed one's transaction
        if work.interrupted():
            failed = blocks[len(done)]
            first = _first_reply(replies, len(done))
            raise Stopped(_running(failed, replies, first), applied=done)
    return done


def _first_reply(replies: Replies, block: int) -> int:
    """The index of block ``block``'s first reply (its BEGIN)."""
    begins = [i for i, r in enumerate(replies.results) if r.command_status == b"BEGIN"]
    return begins[block] if block < len(begins) else len(replies.results)


def committed(replies: Replies, group: Sequence[Migration]) -> list[tuple[str, int]]:
    """The migrations of ``group`` the server committed, in order, with their recorded durations:
    each is a record reply (its migration's id), the check of it, then a COMMIT."""
    done: list[tuple[str, int]] = []
    results = replies.results
    for previous, result in zip(results, results[2:]):
        if (result.command_status == b"COMMIT" and previous.status == pq.ExecStatus.TUPLES_OK
                and previous.nfields == 2 and previous.fname(0) == history.RECORDED and previous.ntuples == 1):
            mid = (previous.get_value(0, 0) or b"").decode()
            if len(done) < len(group) and group[len(done)].id == mid:
                done.append((mid, int(previous.get_value(0, 1) or 0)))
    return done
