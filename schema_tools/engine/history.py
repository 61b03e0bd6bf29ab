"""What has been applied: yoyo's own tables (so its CLI keeps working) and our checksums.

yoyo's tables are created exactly as yoyo 9 creates them (schema version 2). Ours,
``_schema_tools_migrations``, holds each applied migration's content checksum and is written
in the same transaction as the migration's body and yoyo's record.
"""

from __future__ import annotations

import functools
import getpass
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from ..migration_files.model import Migration
from ..migration_files.yoyo import yoyo_hash

TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock", "_schema_tools_migrations", "_schema_tools_events")

CREATE = {
    "_yoyo_migration": """CREATE TABLE "_yoyo_migration" ("migration_hash" VARCHAR(64),
        "migration_id" VARCHAR(255), "applied_at_utc" TIMESTAMP, PRIMARY KEY ("migration_hash"))""",
    "_yoyo_log": """CREATE TABLE "_yoyo_log" ("id" VARCHAR(36), "migration_hash" VARCHAR(64),
        "migration_id" VARCHAR(255), "operation" VARCHAR(10), "username" VARCHAR(255),
        "hostname" VARCHAR(255), "comment" VARCHAR(255), "created_at_utc" TIMESTAMP,
        PRIMARY KEY ("id"))""",
    "_yoyo_version": """CREATE TABLE "_yoyo_version" ("version" INT NOT NULL PRIMARY KEY,
        "installed_at_utc" TIMESTAMP)""",
    "yoyo_lock": """CREATE TABLE "yoyo_lock" ("locked" INT DEFAULT 1, "ctime" TIMESTAMP,
        "pid" INT NOT NULL, PRIMARY KEY ("locked"))""",
    "_schema_tools_migrations": """CREATE TABLE _schema_tools_migrations (
        migration_id text PRIMARY KEY, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL,
        duration_ms integer NOT NULL, transactional boolean NOT NULL)""",
    "_schema_tools_events": """CREATE TABLE _schema_tools_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
        operation text NOT NULL, migration_id text, detail text NOT NULL DEFAULT '',
        actor text NOT NULL)""",
}


@dataclass(frozen=True)
class Applied:
    """One applied migration as the database records it."""

    id: str
    applied_at: datetime
    checksum: str | None


@functools.cache
def actor() -> str:
    """user@host, as recorded with each change."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()}"


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create the bookkeeping tables that are missing (call under the migration lock)."""
    row = conn.execute(
        "SELECT " + ", ".join(f"to_regclass('{t}') IS NULL" for t in TABLES)
    ).fetchone()
    missing = [t for t, absent in zip(TABLES, row or ()) if absent]
    if not missing:
        return
    with conn.transaction():
        for table in missing:
            conn.execute(CREATE[table])
        if "_yoyo_version" in missing:
            conn.execute(
                'INSERT INTO "_yoyo_version" VALUES (2, %s)',
                (datetime.now(timezone.utc).replace(tzinfo=None),),
            )


def applied(conn: psycopg.Connection) -> dict[str, Applied]:
    """Applied migrations by id, in the order they were applied."""
    if conn.execute("SELECT to_regclass('_yoyo_migration') IS NULL").fetchone()[0]:  # type: ignore[index]
        return {}
    has_ours = not conn.execute("SELECT to_regclass('_schema_tools_migrations') IS NULL").fetchone()[0]  # type: ignore[index]
    checksum = "s.checksum" if has_ours else "NULL::text"
    join = "LEFT JOIN _schema_tools_migrations s ON s.migration_id = y.migration_id" if has_ours else ""
    rows = conn.execute(
        f'SELECT y.migration_id, y.applied_at_utc, {checksum} FROM "_yoyo_migration" y {join} '
        "ORDER BY y.applied_at_utc, y.migration_id"
    ).fetchall()
    return {
        mid: Applied(mid, at.replace(tzinfo=timezone.utc) if at else datetime.fromtimestamp(0, timezone.utc), cs)
        for mid, at, cs in rows
    }


RECORD_APPLY_SQL = """
WITH yoyo AS (
    INSERT INTO "_yoyo_migration" (migration_hash, migration_id, applied_at_utc)
    VALUES ({hash}, {id}, (now() AT TIME ZONE 'UTC'))
), yoyo_log AS (
    INSERT INTO "_yoyo_log" (id, migration_hash, migration_id, operation, username, hostname, comment, created_at_utc)
    VALUES ({log_id}, {hash}, {id}, 'apply', {user}, {host}, NULL, (now() AT TIME ZONE 'UTC'))
)
INSERT INTO _schema_tools_migrations (migration_id, checksum, applied_by, duration_ms, transactional)
VALUES ({id}, {checksum}, {actor}, (extract(epoch FROM clock_timestamp() - coalesce(
    nullif(current_setting('schema_tools.started', true), '')::timestamptz, now())) * 1000)::integer, {transactional})
ON CONFLICT (migration_id) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now(),
    applied_by = EXCLUDED.applied_by, duration_ms = EXCLUDED.duration_ms, transactional = EXCLUDED.transactional
"""

RECORD_ROLLBACK_SQL = """
WITH yoyo AS (
    DELETE FROM "_yoyo_migration" WHERE migration_hash = {hash}
), yoyo_log AS (
    INSERT INTO "_yoyo_log" (id, migration_hash, migration_id, operation, username, hostname, comment, created_at_utc)
    VALUES ({log_id}, {hash}, {id}, {operation}, {user}, {host}, NULL, (now() AT TIME ZONE 'UTC'))
)
DELETE FROM _schema_tools_migrations WHERE migration_id = {id}
"""


def _who() -> dict[str, sql.Literal]:
    who = actor()
    user, _, host = who.partition("@")
    return {"log_id": sql.Literal(str(uuid.uuid1())), "user": sql.Literal(user), "host": sql.Literal(host),
            "actor": sql.Literal(who)}


STARTED_NOW = "SELECT set_config('schema_tools.started', clock_timestamp()::text, {local})"
"""Marks when a migration started (each of a group sent in one query shares one now())."""


def apply_record(migration: Migration) -> sql.Composed:
    """One statement recording an applied migration in yoyo's tables and ours; run it in the
    migration's transaction. The duration: since STARTED_NOW ran, else the transaction's age."""
    return sql.SQL(RECORD_APPLY_SQL).format(
        hash=sql.Literal(yoyo_hash(migration.id)), id=sql.Literal(migration.id),
        checksum=sql.Literal(migration.checksum), transactional=sql.Literal(migration.transactional), **_who())


def rollback_record(migration_id: str, operation: str = "rollback") -> sql.Composed:
    """One statement forgetting an applied migration in yoyo's tables and ours.

    ``operation`` is what yoyo's log says: ``rollback``, or ``unmark`` when only the record goes.
    """
    return sql.SQL(RECORD_ROLLBACK_SQL).format(
        hash=sql.Literal(yoyo_hash(migration_id)), id=sql.Literal(migration_id),
        operation=sql.Literal(operation), **_who())


def record_event(conn: psycopg.Connection, operation: str, migration_id: str | None, detail: str) -> None:
    """Append to our own audit trail (repair and other deliberate interventions)."""
    conn.execute(
        "INSERT INTO _schema_tools_events (operation, migration_id, detail, actor) VALUES (%s, %s, %s, %s)",
        (operation, migration_id, detail, actor()),
    )
