"""The session migrations run in, and how their replies are read.

Two connections per run: the caller's (the *control* connection) holds the migration lock and
reads and checks the bookkeeping; a second one (the *work* connection, same login and options)
runs the migrations' SQL. Nothing a migration does to its session can free the lock. Before
every migration the work session is pinned: what a new connection would have (RESET ALL and the
rest), UTF-8, standard_conforming_strings on, READ COMMITTED READ WRITE, and the control
connection's role and search_path. Whether a migration ran is read from the server's reply to
it (``send``), never from tables re-read after an error.
"""

from __future__ import annotations

import select
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

import psycopg
from psycopg import errors as pg_errors
from psycopg import conninfo, generators, pq, sql
from psycopg.abc import PQGen

from ..errors import ConfigError, DatabaseUnavailable

PIN = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; DISCARD PLANS; "
       "DISCARD SEQUENCES; DISCARD TEMP; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
       "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT DEFERRABLE")
"""What a new connection would have (no cursors, role, settings, prepared statements, LISTENs,
plans, sequence state or temporary tables a migration left), in the encoding and quoting rules
the files were read with. (DISCARD ALL would do the first part, but not in a transaction.)"""

BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT DEFERRABLE"
"""Every transaction of ours says what it is: a migration's earlier SET SESSION CHARACTERISTICS
does not make the next one read-only or serializable."""

OURS_ONLY = "SET LOCAL search_path = pg_catalog, pg_temp"
"""Said before our own statements in a migration's transaction: functions and operators a
migration defined elsewhere in the search_path are not what the record calls."""

PINNED = {"standard_conforming_strings": "on", "client_encoding": "UTF8"}
"""Settings the server reports on every change (ParameterStatus): checked before each send."""


@dataclass(frozen=True)
class Session:
    """What each migration's session starts from: PIN, then the control connection's role and
    search_path when the caller set them (a new connection of the same login has the rest)."""

    search_path: str = "''"  # as SQL: a string literal ('': the login's default)
    extra: str = ""

    @property
    def pin(self) -> str:
        return f"{PIN}; {self._path(local=False)}{self.extra}"

    @property
    def identity(self) -> str:
        """The role the runner's own statements run as, whatever SET ROLE a migration left."""
        return f"SET SESSION AUTHORIZATION DEFAULT; RESET ROLE{self.extra}"

    @property
    def path_again(self) -> str:
        """Said after our own statements inside a caller's transaction: its search_path back."""
        return self._path(local=True)

    def _path(self, local: bool) -> str:
        if self.search_path == "''":
            return "SET LOCAL search_path TO DEFAULT" if local else "SET search_path TO DEFAULT"
        return f"SELECT pg_catalog.set_config('search_path', {self.search_path}, {'true' if local else 'false'})"


def session_of(control: psycopg.Connection, path: str) -> Session:
    """The session migrations get, read from the control connection (``path``: its search_path
    before the runner put pg_catalog first). A default the files cannot be read under
    (standard_conforming_strings off for the database, role or PGOPTIONS) is refused."""
    row = control.execute(
        "SELECT current_user, session_user, "
        "(SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'search_path'), "
        "(SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'standard_conforming_strings'), "
        "(SELECT reset_val FROM pg_catalog.pg_settings WHERE name = 'default_transaction_read_only'), "
        "pg_catalog.current_database(), pg_catalog.pg_is_in_recovery()").fetchone()
    assert row is not None
    current, session_user, default_path, conforming, read_only, database, standby = row
    if conforming != "on":
        raise ConfigError(
            f"standard_conforming_strings is off by default for this login on {database}: the server would read "
            "backslashes in string literals differently from the tools that read the migration files",
            hint=f"ALTER DATABASE {database} RESET standard_conforming_strings (or ALTER ROLE ... RESET, "
            "or remove it from PGOPTIONS)")
    if read_only == "on":
        raise ConfigError(
            f"default_transaction_read_only is on for this login on {database}: someone made it read-only, and "
            "the runner will not override that",
            hint=f"ALTER DATABASE {database} RESET default_transaction_read_only (or ALTER ROLE ... RESET), "
            "or run with PGOPTIONS='-c default_transaction_read_only=off' if writing is intended")
    if standby:
        raise ConfigError(f"{database} is a read-only standby (in recovery): migrations cannot run on it",
                          hint="point --database / DATABASE_URL at the primary")
    extra = f"; SET ROLE {sql.Identifier(current).as_string(control)}" if current != session_user else ""
    return Session(sql.Literal(path).as_string(control) if path != default_path else "''", extra)


WORK_LOCK = "schema_tools.migrate.work"
"""Held by the work connection too: when a runner is killed (SIGKILL), its control connection's
lock goes at once, but the query its work connection sent runs on until the server notices; the
next runner waits for that query to end instead of running beside it."""


@contextmanager
def catalog_first(conn: psycopg.Connection) -> Iterator[str]:
    """pg_catalog said first in the connection's search_path for the block: functions and
    operators of the same name a migration put in a schema of the search_path (pg_try_advisory_lock
    in public, with the database's search_path set to "public, pg_catalog") are never what the
    runner's own SQL calls. Yields the search_path as it was, which it is again afterwards."""
    row = conn.execute("SELECT pg_catalog.current_setting('search_path')").fetchone()
    path = str(row[0]) if row else ""
    first = f"pg_catalog, {path}" if path.strip() not in ("", '""') else "pg_catalog"
    conn.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (first,))
    try:
        yield path
    finally:
        try:
            if not conn.closed:
                conn.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (path,))
        except psycopg.OperationalError:
            pass


@contextmanager
def work_connection(control: psycopg.Connection, session: Session, wait: float) -> Iterator[psycopg.Connection]:
    """A second connection of the control connection's login and options, pinned, holding the
    work lock (``wait``: how long to wait for a killed runner's last query), closed after."""
    from ..server.connect import connect_url
    from .lock import lock_key, migration_lock

    name = control.info.parameter_status("application_name") or "schema-tools"
    dsn = conninfo.make_conninfo(control.info.dsn, password=control.info.password or None, client_encoding="UTF8")
    work = connect_url(dsn, application_name=f"{name} work")
    work.prepare_threshold = None  # the pin deallocates prepared statements: psycopg must not keep any
    try:
        work.execute(b"SET search_path TO pg_catalog")  # the pin, before each migration, sets the user's
        with migration_lock(work, wait, lock_key(WORK_LOCK), what="a killed migration run's last query"):
            yield work
    finally:
        work.close()


def repin(conn: psycopg.Connection, session: Session) -> None:
    """When a migration changed how the server reads text (by a route no reading of the file
    could see), put it back before sending more: the quoting rule alone first, then the rest."""
    if drifted(conn):
        conn.execute(b"SET standard_conforming_strings = on")
        conn.execute(session.pin.encode(conn.info.encoding), prepare=False)


def drifted(conn: psycopg.Connection) -> str:
    """A pinned setting the server reports changed ("standard_conforming_strings = off"), or ""."""
    for name, value in PINNED.items():
        now = (conn.pgconn.parameter_status(name.encode()) or b"").decode()
        if now.upper() != value.upper():
            return f"{name} = {now}"
    return ""


@dataclass
class Replies:
    """The server's reply to one query: a result per statement it ran, in order; the error that
    stopped it (the rest did not run); or the connection lost while waiting."""

    results: list[pq.abc.PGresult] = field(default_factory=list)
    error: psycopg.Error | None = None
    lost: psycopg.OperationalError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.lost is None

    def index_of_error(self) -> int:
        """How many statements completed before the one that failed."""
        return len(self.results) - (1 if self.error is not None else 0)


def _collect(pgconn: pq.abc.PGconn, out: list[pq.abc.PGresult]) -> PQGen[None]:
    """Flush the query, then keep every result as it arrives (so a lost connection leaves what
    arrived before it). A COPY nobody asked for is ended with an error, or drained."""
    yield from generators.send(pgconn)
    while True:
        result = yield from generators.fetch(pgconn)
        if result is None:
            return
        out.append(result)
        if result.status == pq.ExecStatus.COPY_IN:
            pgconn.put_copy_end(b"the runner sends no COPY data here")
        elif result.status == pq.ExecStatus.COPY_OUT:
            while (got := pgconn.get_copy_data(0)[0]) != -1:
                if got == 0:
                    yield generators.WAIT_R
                    pgconn.consume_input()


def send(conn: psycopg.Connection, text: str) -> Replies:
    """Send ``text`` (one or many statements) in one simple-protocol query, in the connection's
    encoding, and return the server's replies."""
    replies = Replies()
    data = text.encode(conn.info.encoding)
    try:
        with conn.lock:
            conn.pgconn.send_query(data)
            conn.wait(_collect(conn.pgconn, replies.results))
    except psycopg.OperationalError as exc:
        replies.lost = exc
        return replies
    for result in replies.results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            replies.error = pg_errors.error_from_result(result, encoding=conn.info.encoding)
            break
    return replies


def control_lost(control: psycopg.Connection) -> bool:
    """True when the control connection (the lock's) is gone: an idle connection has nothing to
    read unless the server ended it (a migration may call pg_terminate_backend). Costs no round
    trip while nothing arrived."""
    if control.closed:
        return True
    readable, _, _ = select.select([control.pgconn.socket], [], [], 0)
    if not readable:
        return False
    try:
        control.execute("SELECT 1")
    except psycopg.Error:
        return True
    return False


def lost_connection(exc: psycopg.OperationalError, what: str) -> DatabaseUnavailable:
    """The error for a connection that closed while ``what`` ran."""
    reason = " ".join(str(exc).split()) or "the server closed the connection"
    return DatabaseUnavailable(f"the connection to the server was lost while {what}: {reason}",
                               hint="run 'schema-tools status' to see what is recorded, then migrate again")


GRACE_SECONDS = 2.0
"""How long a cancelled query may take to stop (a migration may catch query_canceled) before the
control connection ends the work connection's session."""


class Interrupts:
    """SIGINT and SIGTERM while migrations run: the work connection's query is cancelled (the
    server rolls its transaction back), and if it goes on after GRACE_SECONDS (SQL that catches
    the cancel) its session is ended from the control connection; the run stops before the next
    migration, instead of a batch that outlives the runner. ``signal``: the one received (0: none)."""

    def __init__(self, work: psycopg.Connection, control: psycopg.Connection | None = None) -> None:
        self.work, self.control = work, control
        self.signal = 0

    def _received(self, signum: int, frame: FrameType | None) -> None:
        first = self.signal == 0
        self.signal = signum
        try:
            self.work.cancel()  # PQcancel: a request on a connection of its own, safe in a handler
        except psycopg.Error:
            pass
        if first and self.control is not None:
            timer = threading.Timer(GRACE_SECONDS, self._end_work_session, (self.work.info.backend_pid,))
            timer.daemon = True
            timer.start()

    def _end_work_session(self, pid: int) -> None:
        """The cancel was not enough: end the work connection's session (its transaction rolls back)."""
        if self.control is None or self.work.closed:
            return
        try:
            if self.work.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                self.control.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (pid,))
        except psycopg.Error:
            pass

    @contextmanager
    def watching(self) -> Iterator[Interrupts]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._received) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
