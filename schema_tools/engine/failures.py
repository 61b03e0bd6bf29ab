"""A statement the server refused, reported as psql reports it: ``file:line:column``,
PostgreSQL's DETAIL and HINT, the line and a caret, what stayed committed, which session held
the lock that timed out, and whether a newer server would read the statement."""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from ..errors import MigrationError, MigrationFailed
from ..migration_files.model import Migration
from ..sql.grammar import newer_grammar
from ..sql.scanner import text_lines
from ..sql.statement import Statement

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


class Failed(Exception):
    """A statement the server refused: ``position`` (1-based) is PostgreSQL's, within ``stmt``;
    ``committed``: the statements of a non-transactional migration that ran before it."""

    def __init__(self, stmt: Statement | None, exc: psycopg.Error, committed: list[Statement] | None = None,
                 position: int | None = None):
        super().__init__(str(exc))
        self.stmt, self.exc, self.committed, self.position = stmt, exc, committed, position


def blockers(conn: psycopg.Connection, statements: list[Statement]) -> str:
    """Who holds a lock on a relation the statements name."""
    words = sorted({name for s in statements for name in s.names})
    rows = conn.execute(BLOCKERS_SQL, (words,)).fetchall()
    if not rows:
        return "the blocking session has since finished"
    return "; ".join(f"pid {pid} ({app}, {state}) holds a lock on {rel}" for pid, app, state, rel in rows)


def _newer_syntax(conn: psycopg.Connection, stmt: Statement) -> str:
    """When the server cannot read a statement that a newer PostgreSQL's grammar reads, say so."""
    server = conn.info.server_version // 10000
    newest = newer_grammar(stmt.sql, server)
    if not newest:
        return ""
    return f"the statement is valid PostgreSQL {newest} syntax but the server is {server}: it may need a newer server"


def _psql_style(conn: psycopg.Connection, m: Migration, failure: Failed, hint: str, text: str, file: str,
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
    lines = text_lines(text)
    context: tuple[str, ...] = ()
    if failure.position and 0 < line <= len(lines):
        shown = f"LINE {line}: "
        context = (shown + lines[line - 1].expandtabs(1), " " * (len(shown) + column - 1) + "^")
    return kind(f"{file}:{line}:{column}: {message}", migration_id=m.id, line=line, hint=hint, context=context)


def explain(conn: psycopg.Connection, m: Migration, failure: Failed, lock_timed_out: bool,
            retries: int, rollback: bool) -> MigrationError:
    """The error a failed migration (or rollback) raises: what failed, where, what stays, what to do."""
    verb = "rolled back" if rollback else "applied"
    if lock_timed_out:
        blocked = [failure.stmt] if failure.stmt else list(m.statements)
        hint = (f"gave up after {retries + 1} attempts: {blockers(conn, blocked)}; "
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
    return _psql_style(conn, m, failure, hint, text, file, refused=not lock_timed_out)
