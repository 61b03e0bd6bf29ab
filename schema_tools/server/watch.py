"""What changed on a database between two moments: its schema, its migration history, roles and
grants, rows written and sessions opened (used to catch an untrusted process that reached it)."""

from __future__ import annotations

import hashlib
import time

import psycopg
from psycopg import sql

from .model import DatabaseMark

HISTORY_TABLES = ("_yoyo_migration", "_yoyo_log", "_schema_tools_migrations", "_schema_tools_events")
ROLES_SQL = """
SELECT md5(coalesce(string_agg(r.rolname || ':' || r.rolsuper || r.rolinherit || r.rolcreaterole || r.rolcreatedb
                               || r.rolcanlogin || r.rolreplication || r.rolbypassrls
                               || coalesce(r.rolvaliduntil::text, '') || ':' || coalesce(r.rolpassword, ''),
                               ',' ORDER BY r.rolname), '')
           || (SELECT coalesce(string_agg(m.roleid::regrole || '>' || m.member::regrole, ',' ORDER BY 1), '')
               FROM pg_auth_members m)
           || (SELECT coalesce(datacl::text, '') FROM pg_database WHERE datname = current_database()))
FROM pg_authid r WHERE r.rolname NOT LIKE 'schema\\_tools\\_agent\\_%'
"""
ROLES_SQL_UNPRIVILEGED = ROLES_SQL.replace("pg_authid", "pg_roles").replace("coalesce(r.rolpassword, '')", "''")
SCRATCH_ROLE_PREFIX = "schema_tools_agent_"


def _history(conn: psycopg.Connection) -> str:
    digest = hashlib.sha256()
    for table in HISTORY_TABLES:
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'public."{table}"',)).fetchone()[0]:  # type: ignore[index]
            rows = conn.execute(sql.SQL("SELECT row_to_json(t)::text FROM {} t ORDER BY 1").format(
                sql.Identifier("public", table))).fetchall()
            digest.update(f"{table}:{len(rows)}:".encode() + "\n".join(r[0] for r in rows).encode())
    return digest.hexdigest()


def _roles(conn: psycopg.Connection) -> str:
    try:
        with conn.transaction():
            return str(conn.execute(ROLES_SQL).fetchone()[0])  # type: ignore[index]
    except psycopg.errors.InsufficientPrivilege:  # pg_authid needs a superuser; pg_roles hides only passwords
        return str(conn.execute(ROLES_SQL_UNPRIVILEGED).fetchone()[0])  # type: ignore[index]


def _counters(conn: psycopg.Connection) -> tuple[int, int]:
    """Rows written to the database's own tables, and sessions ever opened on it. Our session's
    pending statistics are flushed first, so that only others' activity moves them later."""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+
    except psycopg.errors.UndefinedFunction:
        pass
    conn.execute("SELECT 1")  # an idle point: the flush happens there
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables), "
        "coalesce((SELECT sessions FROM pg_stat_database WHERE datname = current_database()), 0)").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def take_mark(conn: psycopg.Connection, fingerprint: str) -> DatabaseMark:
    writes, sessions = _counters(conn)
    since = str(conn.execute("SELECT clock_timestamp()").fetchone()[0])  # type: ignore[index]
    return DatabaseMark(fingerprint, _history(conn), _roles(conn), writes, sessions, since)


def changes_since(conn: psycopg.Connection, before: DatabaseMark, fingerprint: str, strict: bool) -> list[str]:
    """What changed since ``before``: schema, history and roles always; sessions that scratch
    logins opened (ended here). ``strict`` (nothing else may use the database meanwhile): also
    any session opened and any row written, after waiting for new sessions to end (they report
    their counters as they exit)."""
    problems = []
    if fingerprint != before.schema:
        problems.append("its schema changed")
    if _history(conn) != before.history:
        problems.append("its migration history changed")
    if _roles(conn) != before.roles:
        problems.append("roles, memberships or its grants changed")
    late = conn.execute("SELECT pid, usename, coalesce(nullif(application_name, ''), '?') FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_start >= %s",
                        (before.since,)).fetchall()
    for pid, user, app in late:
        if strict or str(user).startswith(SCRATCH_ROLE_PREFIX):
            problems.append(f"a session ({user}, {app}) connected to it; ended")
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    if strict:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_start >= %s", (before.since,)).fetchone()[0]:  # type: ignore[index]
            time.sleep(0.05)
        writes, sessions = _counters(conn)
        if writes != before.writes:
            problems.append(f"{writes - before.writes} row(s) were written")
        if sessions != before.sessions and not late:
            problems.append(f"{sessions - before.sessions} session(s) connected to it")
    return problems
