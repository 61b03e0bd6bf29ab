"""The owner login: a role that owns a database's application objects and holds nothing more
(no superuser, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, no memberships), for running
SQL we did not write on a target. Made (or reused, its password renewed) through a superuser's
connection; a target reached without superuser is used as it is."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .scratch import hand_over
from .urls import with_login

POWERS_SQL = """SELECT r.rolsuper, r.rolname, pg_catalog.current_database() FROM pg_catalog.pg_roles r
WHERE r.rolname = pg_catalog.current_user()"""

MEMBER_OF_SQL = """SELECT g.rolname FROM pg_catalog.pg_auth_members m
JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
WHERE u.rolname = %s"""

SCHEMAS_SQL = r"""SELECT n.nspname FROM pg_catalog.pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND n.nspowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s)
  AND (n.nspowner = 'pg_database_owner'::pg_catalog.regrole
       OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = n.nspowner))"""

ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 20"


@dataclass(frozen=True)
class OwnerLogin:
    """What promotion connects as: ``url`` (the given one when it is no superuser's), and what
    was done to get it (None: the URL was used as given)."""

    url: str
    role: str
    made: str | None = None  # "created" or "reused"


def owner_name(database: str) -> str:
    """One owner login per database (roles are the server's): a readable name, a hash when long."""
    name = f"ralph_owner_{database}"
    return name if len(name.encode()) <= 63 else f"ralph_owner_{hashlib.sha256(database.encode()).hexdigest()[:16]}"


def owner_login(conn: psycopg.Connection, url: str) -> OwnerLogin:
    """The login promotion runs as on ``conn``'s database (``url`` is its URL). Through a
    superuser's connection: create or reuse the database's owner login (attributes and
    memberships stripped, role settings reset, a new random password). The objects are handed to
    it by ``give_to_owner``, right before each promotion (under the project's lock_timeout: a
    busy target is never queued behind an owner change)."""
    row = conn.execute(POWERS_SQL).fetchone()
    assert row is not None
    superuser, me, database = bool(row[0]), str(row[1]), str(row[2])
    if not superuser:
        return OwnerLogin(url, me)
    role = owner_name(database)
    password = secrets.token_urlsafe(24)
    exists = conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
    verb = "ALTER" if exists else "CREATE"
    conn.execute(sql.SQL(f"{verb} ROLE {{}} WITH {ATTRIBUTES} PASSWORD {{}}").format(
        sql.Identifier(role), sql.Literal(password)))
    if exists:
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(sql.Identifier(role)))
        for (group,) in conn.execute(MEMBER_OF_SQL, (role,)).fetchall():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET ALL").format(sql.Identifier(role),
                                                                               sql.Identifier(database)))
    return OwnerLogin(with_login(url, role, password, database), role, "reused" if exists else "created")


def give_to_owner(conn: psycopg.Connection, role: str, lock_timeout: str | None = None) -> None:
    """Through a superuser's connection: hand ``role`` every object the superuser owns in the
    database's non-system schemas (what it made since, the bookkeeping included), and let it
    create in the schemas the database's owner or a superuser owns (public). ``lock_timeout``:
    see ``hand_over`` (a busy target)."""
    hand_over(conn, role, lock_timeout)
    for (schema,) in conn.execute(SCHEMAS_SQL, (role,)).fetchall():
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                             sql.Identifier(role)))
