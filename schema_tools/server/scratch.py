"""Scratch databases: created empty on the same server, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from ..config import Settings
from ..errors import DatabaseUnavailable
from . import connect as db
from .model import ScratchLogin
from .urls import mask_url, with_dbname, with_login


@contextmanager
def temporary_database(settings: Settings, admin: psycopg.Connection | None = None) -> Iterator[str]:
    """A new empty database on the settings' server, dropped afterwards; yields its URL. ``admin``
    (an autocommit connection to that server) runs CREATE and DROP DATABASE; without it, one is
    opened for the purpose."""
    url = db.resolve_url(settings)
    if admin is None:
        with db.connect_url(url, application_name="schema-tools scratch") as own:
            with temporary_database(settings, own) as scratch:
                yield scratch
        return
    name = f"schema_tools_scratch_{secrets.token_hex(6)}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseUnavailable(f"cannot create a scratch database on {mask_url(url)}: permission denied",
                                  hint="connect as a role with CREATEDB") from None
    try:
        yield with_dbname(url, name)
    finally:
        _drop_database(admin, name)


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    """Drop a scratch database, whatever was done to it (made a template, closed to connections)."""
    try:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true").format(
            sql.Identifier(name)))
    except psycopg.Error:
        pass  # already gone, or never changed
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


UNTRUSTED_FUNCTIONS_SQL = """
SELECT p.oid::regprocedure::text FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid
JOIN pg_catalog.pg_proc p ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
WHERE d.deptype = 'e' AND NOT EXISTS (SELECT FROM pg_catalog.pg_available_extension_versions v
                                      WHERE v.name = e.extname AND v.version = e.extversion AND v.trusted)
"""


def close_untrusted_extensions(conn: psycopg.Connection) -> None:
    """Nobody but their owner may call the functions of extensions a database owner could not
    create (dblink, postgres_fdw...: they reach other databases): what the admin's role installed
    in a scratch database does not lend its reach to the login."""
    for (function,) in conn.execute(UNTRUSTED_FUNCTIONS_SQL).fetchall():
        conn.execute(sql.SQL("REVOKE EXECUTE ON FUNCTION {} FROM PUBLIC").format(sql.SQL(function)))  # regprocedure text


def _sql(conn: psycopg.Connection, template: str, *names: str, **literals: str) -> None:
    conn.execute(sql.SQL(template).format(*map(sql.Identifier, names),
                                          **{k: sql.Literal(v) for k, v in literals.items()}))


@contextmanager
def temporary_login(settings: Settings, admin: psycopg.Connection,
                  prepare: Callable[[psycopg.Connection], None] | None = None) -> Iterator[ScratchLogin]:
    """A new LOGIN role (random password; no superuser, createdb, createrole, replication or
    bypassrls) that owns a new scratch database, which only it may connect to. On exit the
    database and the role are dropped; sessions the role still had (on any database) are ended,
    and anything that keeps the role alive is reported in ``leftovers``. ``admin`` needs
    CREATEROLE and CREATEDB (a superuser has both). ``prepare`` runs first on a connection to the
    new database as ``admin``'s role; what it makes is then handed to the login (``hand_over``)."""
    url = db.resolve_url(settings)
    token = secrets.token_hex(6)
    login = ScratchLogin("", f"schema_tools_scratch_{token}", f"schema_tools_agent_{token}", secrets.token_urlsafe(24))
    try:
        _sql(admin, "CREATE ROLE {} LOGIN PASSWORD {password} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
             "NOBYPASSRLS NOINHERIT CONNECTION LIMIT 50", login.role, password=login.password)
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseUnavailable(f"cannot create a login role for the agent on {mask_url(url)}: permission denied",
                                  hint="the harness's role needs CREATEROLE and CREATEDB") from None
    try:
        try:
            _sql(admin, "CREATE DATABASE {} OWNER {} TEMPLATE template0", login.database, login.role)
        except psycopg.errors.InsufficientPrivilege:  # a CREATEROLE (not superuser) role must be able to SET ROLE
            _sql(admin, "GRANT {} TO CURRENT_USER", login.role)
            _sql(admin, "CREATE DATABASE {} OWNER {} TEMPLATE template0", login.database, login.role)
        _sql(admin, "REVOKE ALL ON DATABASE {} FROM PUBLIC", login.database)
        _sql(admin, "GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}", login.database, login.role)
        with db.connect_url(with_dbname(url, login.database), application_name="schema-tools scratch") as inside:
            # NOINHERIT: the owner does not get pg_database_owner's rights on public; give it the schema
            _sql(inside, "ALTER SCHEMA public OWNER TO {}", login.role)
            if prepare is not None:
                prepare(inside)
                hand_over(inside, login.role)
                close_untrusted_extensions(inside)
        login.url = with_login(url, login.role, login.password, login.database)
        yield login
    finally:
        _drop_database(admin, login.database)
        ended = admin.execute("SELECT datname, pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE usename = %s AND datname IS DISTINCT FROM %s", (login.role, login.database)).fetchall()
        login.leftovers += [f"the agent's login had a session on database {name}" for name, _ in ended]
        try:
            _sql(admin, "DROP ROLE IF EXISTS {}", login.role)
        except psycopg.errors.DependentObjectsStillExist as exc:
            detail = " ".join((exc.diag.message_detail or str(exc)).split())
            login.leftovers.append(f"the agent's login {login.role} still owns or holds something ({detail}); "
                                   "it was kept for inspection")


@contextmanager
def powerless_connection(settings: Settings, admin: psycopg.Connection,
                         prepare: Callable[[psycopg.Connection], None] | None = None,
                         label: str = "schema-tools scratch") -> Iterator[psycopg.Connection]:
    """A connection to a new scratch database as a login that owns it and nothing else (see
    ``temporary_login``); ``prepare`` runs first as the admin's role. When the admin may not
    create roles, the admin's own role on a plain scratch database (prepare run on it too)."""
    row = admin.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    if row and row[0]:
        with temporary_login(settings, admin, prepare) as login, \
                db.connect_url(login.url, application_name=label) as conn:
            yield conn
        return
    with temporary_database(settings, admin) as url, db.connect_url(url, application_name=label) as conn:
        if prepare is not None:
            prepare(conn)
        yield conn


HAND_OVER_SQL = r"""
SELECT kind, name FROM (
    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                          WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, c.oid::regclass::text AS name, 1 AS rank
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = current_user::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('e', 'a', 'i'))  -- extension members; sequences that follow their table
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END, p.oid::regprocedure::text, 2
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.proowner = current_user::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype::text, 3
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typowner = current_user::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%' AND (t.typtype IN ('e', 'd', 'r')
           OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'SCHEMA', quote_ident(n.nspname), 0
    FROM pg_namespace n
    WHERE n.nspowner = current_user::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
) objects ORDER BY rank, name
"""


def hand_over(conn: psycopg.Connection, role: str, lock_timeout: str | None = None) -> None:
    """Give ``role`` the schemas, tables, views, sequences, routines and types of the connected
    database that the connected role owns (extension members aside): after it, ``role`` may alter
    what the connected role made, as their owner. ``lock_timeout``: on a database others use, an
    owner change (ACCESS EXCLUSIVE) gives up after it instead of queueing their queries behind it."""
    objects = conn.execute(HAND_OVER_SQL).fetchall()  # names as PostgreSQL quotes them (regclass, regtype...)
    with conn.transaction():
        if lock_timeout is not None and objects:
            conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, true)", (lock_timeout,))
        for kind, name in objects:
            conn.execute(sql.SQL(f"ALTER {kind} {name} OWNER TO {{}}").format(sql.Identifier(role)))
