"""What has been applied: yoyo's own tables (so its CLI keeps working) and our checksums.

yoyo's tables are created exactly as yoyo 9 creates them (schema version 2). Ours,
``_schema_tools_migrations``, holds each applied migration's content checksum and is written
in the same transaction as the migration's body and yoyo's record.

Where they live is decided once per run (``locate``) and every statement names them with their
schema: what a migration does to search_path, or a same-named table another role put earlier
in it, never redirects the bookkeeping; such a table is an error that names it, never believed.
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

from ..errors import ConfigError, SchemaToolsError
from ..migration_files.model import Migration
from ..migration_files.yoyo import yoyo_hash

TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock", "_schema_tools_migrations", "_schema_tools_events")

CREATE = {
    "_yoyo_migration": """CREATE TABLE {schema}."_yoyo_migration" ("migration_hash" VARCHAR(64),
        "migration_id" VARCHAR(255), "applied_at_utc" TIMESTAMP, PRIMARY KEY ("migration_hash"))""",
    "_yoyo_log": """CREATE TABLE {schema}."_yoyo_log" ("id" VARCHAR(36), "migration_hash" VARCHAR(64),
        "migration_id" VARCHAR(255), "operation" VARCHAR(10), "username" VARCHAR(255),
        "hostname" VARCHAR(255), "comment" VARCHAR(255), "created_at_utc" TIMESTAMP,
        PRIMARY KEY ("id"))""",
    "_yoyo_version": """CREATE TABLE {schema}."_yoyo_version" ("version" INT NOT NULL PRIMARY KEY,
        "installed_at_utc" TIMESTAMP)""",
    "yoyo_lock": """CREATE TABLE {schema}."yoyo_lock" ("locked" INT DEFAULT 1, "ctime" TIMESTAMP,
        "pid" INT NOT NULL, PRIMARY KEY ("locked"))""",
    "_schema_tools_migrations": """CREATE TABLE {schema}._schema_tools_migrations (
        migration_id text PRIMARY KEY, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL,
        duration_ms integer NOT NULL, transactional boolean NOT NULL)""",
    "_schema_tools_events": """CREATE TABLE {schema}._schema_tools_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
        operation text NOT NULL, migration_id text, detail text NOT NULL DEFAULT '',
        actor text NOT NULL)""",
}


class BookkeepingError(SchemaToolsError):
    """The history tables are not where or what the runner expects: believing them could skip a
    migration or run one twice, so nothing runs until a person looks (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Books:
    """Where the history tables are: one schema, found once per run."""

    schema: str

    def table(self, name: str) -> str:
        """A history table's name with its schema, quoted: ``"public"."_yoyo_migration"``."""
        return f'{quote(self.schema)}.{quote(name)}'


def quote(name: str) -> str:
    """An identifier as SQL, always quoted."""
    return '"' + name.replace('"', '""') + '"'


LOCATE_SQL = """
WITH RECURSIVE mine AS (  -- the roles this login is, by membership (a superuser is not every role here)
    SELECT oid FROM pg_roles WHERE rolname = current_user
    UNION SELECT m.roleid FROM pg_auth_members m JOIN mine ON m.member = mine.oid
)
SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relowner IN (SELECT oid FROM mine),
       array_position(current_schemas(true), n.nspname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY(%(tables)s) AND n.nspname = ANY(current_schemas(true))
ORDER BY 5, 2
"""


def locate(conn: psycopg.Connection, *, writing: bool = False) -> Books:
    """Where the history tables are: the one schema of the search_path that holds them, else the
    first schema of the search_path that exists (where yoyo would create them). Tables of ours in
    two schemas, or (``writing``) owned by a role we are not, are a BookkeepingError."""
    rows = conn.execute(LOCATE_SQL, {"tables": list(TABLES)}).fetchall()
    schemas = list(dict.fromkeys(row[0] for row in rows))
    if len(schemas) > 1:
        found = ", ".join(f"{quote(schema)}.{name}" for schema, name, *_ in rows)
        raise BookkeepingError(
            f"migration history tables are in {len(schemas)} schemas of the search_path ({found}): "
            "the runner will not guess which history is real",
            hint="drop or rename the copy that is not yours (a schema named after a role comes first in the "
            "default search_path), or set search_path in the URL options to the schema that holds the history")
    if writing:
        foreign = [(schema, name, owner) for schema, name, owner, member, _ in rows if not member]
        if foreign:
            schema, name, owner = foreign[0]
            raise BookkeepingError(
                f"the history table {quote(schema)}.{name} is owned by {owner}, a role this login is not: "
                "its rows cannot be trusted or written",
                hint=f"run migrations as {owner}, or, if the table is yours, ALTER TABLE {quote(schema)}.{name} "
                "OWNER TO the role that runs migrations")
    if schemas:
        books = Books(schemas[0])
        if writing:
            _refuse_tampering(conn, books)
        return books
    elsewhere = conn.execute(ELSEWHERE_SQL, {"tables": ["_yoyo_migration", "_schema_tools_migrations"]}).fetchall()
    if elsewhere:
        raise BookkeepingError(
            f"no migration history on the search_path, but {', '.join(f'{quote(s)}.{t}' for s, t in elsewhere)} "
            "exists: if it is this project's, the search_path changed (ALTER DATABASE/ROLE ... SET search_path, "
            "PGOPTIONS) and a new history here would apply everything again",
            hint=f"put {quote(elsewhere[0][0])} back on the search_path (or, for a separate project, keep its "
            "history out of this database)")
    row = conn.execute("SELECT (SELECT s FROM unnest(current_schemas(false)) s WHERE s <> 'pg_catalog' LIMIT 1), "
                       "current_setting('search_path')").fetchone()
    if row is None or row[0] is None:
        raise ConfigError(
            f"no schema of the search_path ({row[1] if row else '?'}) exists, so there is nowhere to keep the "
            "migration history",
            hint="create the schema, or fix search_path (the URL's options=-csearch_path=..., or the role's default)")
    return Books(str(row[0]))


ELSEWHERE_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY(%(tables)s) AND c.relkind = 'r' AND NOT n.nspname = ANY(current_schemas(true))
  AND n.nspname NOT LIKE 'pg\\_temp\\_%%' ORDER BY 1, 2
"""

TAMPERING_SQL = """
SELECT c.relname, 'trigger ' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND NOT t.tgisinternal
UNION ALL
SELECT c.relname, 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s)
UNION ALL
SELECT c.relname, 'row-level security' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s) AND c.relrowsecurity
ORDER BY 1, 2
"""


def _refuse_tampering(conn: psycopg.Connection, books: Books) -> None:
    """A trigger, rule or row-level security on a history table could swallow or fake records."""
    row = conn.execute(TAMPERING_SQL, {"schema": books.schema, "tables": list(TABLES)}).fetchone()
    if row is not None:
        raise BookkeepingError(f"the history table {books.table(row[0])} has a {row[1]}: it could swallow or fake "
                               "the records of what was applied",
                               hint="drop it (the runner's tables are the runner's), then run again")


@dataclass(frozen=True)
class Applied:
    """One applied migration as the database records it."""

    id: str
    applied_at: datetime
    checksum: str | None
    duration_ms: int | None = None  # recorded by schema-tools (None: applied by yoyo's CLI)
    applied_by: str | None = None  # user@host


@functools.cache
def actor() -> str:
    """user@host, as recorded with each change."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no login name, nor pwd to find one (Windows)
        user = "?"
    return f"{user}@{socket.gethostname()}"


def existing(conn: psycopg.Connection, books: Books) -> set[str]:
    """The history tables that exist in the books' schema."""
    return {row[0] for row in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s)", (books.schema, list(TABLES)))}


def ensure_tables(conn: psycopg.Connection, books: Books) -> None:
    """Create the bookkeeping tables that are missing (call under the migration lock), in one
    transaction sent as one query."""
    there = existing(conn, books)
    missing = [t for t in TABLES if t not in there]
    if not missing:
        return
    creates = [CREATE[table].format(schema=quote(books.schema)) for table in missing]
    if "_yoyo_version" in missing:  # yoyo writes the UTC time without a zone
        creates.append(f'INSERT INTO {books.table("_yoyo_version")} VALUES (2, pg_catalog.timezone(\'UTC\', '
                       'pg_catalog.now()))')
    with conn.transaction():
        conn.execute(";\n".join(creates).encode(), prepare=False)


def applied(conn: psycopg.Connection, books: Books | None = None) -> dict[str, Applied]:
    """Applied migrations by id, in the order they were applied (``books``: located here when not given)."""
    books = locate(conn) if books is None else books
    tables = existing(conn, books)
    if "_yoyo_migration" not in tables:
        return {}
    has_ours = "_schema_tools_migrations" in tables
    checksum = "s.checksum, s.duration_ms, s.applied_by" if has_ours else "NULL::text, NULL::integer, NULL::text"
    join = f"LEFT JOIN {books.table('_schema_tools_migrations')} s ON s.migration_id = y.migration_id" if has_ours else ""
    rows = conn.execute(
        f"SELECT y.migration_id, y.applied_at_utc, {checksum} FROM {books.table('_yoyo_migration')} y {join} "
        "ORDER BY y.applied_at_utc, y.migration_id".encode()
    ).fetchall()
    return {
        mid: Applied(mid, at.replace(tzinfo=timezone.utc) if at else datetime.fromtimestamp(0, timezone.utc), cs, ms, by)
        for mid, at, cs, ms, by in rows
    }


def unpaired(conn: psycopg.Connection, books: Books) -> list[str]:
    """Ids our checksum table records as applied that yoyo's table does not (yoyo's CLI rolled
    them back, or its table was emptied): neither record can be believed alone."""
    if not {"_yoyo_migration", "_schema_tools_migrations"} <= existing(conn, books):
        return []
    return [row[0] for row in conn.execute(
        f"SELECT s.migration_id FROM {books.table('_schema_tools_migrations')} s WHERE NOT EXISTS (SELECT FROM "
        f"{books.table('_yoyo_migration')} y WHERE y.migration_id = s.migration_id) ORDER BY 1".encode())]


RECORD_APPLY_SQL = """
WITH at AS (  -- the record's own time (clock_timestamp, not the transaction's now(): migrations sent in one
              -- round trip would share it), after every earlier record: the applied order, strictly increasing
    SELECT GREATEST(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC',
                    (SELECT pg_catalog.max(applied_at_utc) FROM {yoyo_migration}) + interval '1 microsecond') AS utc
), yoyo AS (
    INSERT INTO {yoyo_migration} (migration_hash, migration_id, applied_at_utc)
    SELECT {hash}, {id}, utc FROM at{again}
), yoyo_log AS (
    INSERT INTO {yoyo_log} (id, migration_hash, migration_id, operation, username, hostname, comment, created_at_utc)
    SELECT {log_id}, {hash}, {id}, 'apply', {user}, {host}, NULL, utc FROM at
)
INSERT INTO {ours} (migration_id, checksum, applied_at, applied_by, duration_ms, transactional)
SELECT {id}, {checksum}, utc AT TIME ZONE 'UTC', {actor}, (extract(epoch FROM pg_catalog.clock_timestamp() - coalesce(
    nullif(pg_catalog.current_setting('schema_tools.started', true), '')::timestamptz, pg_catalog.now())) * 1000)::integer,
    {transactional} FROM at
ON CONFLICT (migration_id) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at,
    applied_by = EXCLUDED.applied_by, duration_ms = EXCLUDED.duration_ms, transactional = EXCLUDED.transactional
RETURNING migration_id AS schema_tools_recorded, duration_ms
"""

RECORD_ROLLBACK_SQL = """
WITH yoyo AS (
    DELETE FROM {yoyo_migration} WHERE migration_hash = {hash}
), yoyo_log AS (
    INSERT INTO {yoyo_log} (id, migration_hash, migration_id, operation, username, hostname, comment, created_at_utc)
    VALUES ({log_id}, {hash}, {id}, {operation}, {user}, {host}, NULL, (pg_catalog.now() AT TIME ZONE 'UTC'))
)
DELETE FROM {ours} WHERE migration_id = {id}
RETURNING migration_id AS schema_tools_recorded, duration_ms
"""


def literal(value: str) -> str:
    """A string as an SQL literal read the same whatever standard_conforming_strings says (E'...'
    when it holds a backslash, as psycopg writes it); NUL, which no text value holds, is refused."""
    if "\0" in value:
        raise ValueError("a NUL character cannot be sent in an SQL literal")
    if "\\" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + value.replace("'", "''") + "'"


def _brace(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@functools.lru_cache(maxsize=8)
def _templates(books: Books) -> tuple[str, str, str]:
    """The record statements and the check with the books' tables and this actor filled in (once
    per run): what is left to fill is each migration's own values."""
    who = actor()
    user, _, host = who.partition("@")
    fixed = {"user": _brace(literal(user)), "host": _brace(literal(host)), "actor": _brace(literal(who)),
             "yoyo_migration": _brace(books.table("_yoyo_migration")), "yoyo_log": _brace(books.table("_yoyo_log")),
             "ours": _brace(books.table("_schema_tools_migrations"))}
    keep = {name: "{" + name + "}" for name in ("hash", "id", "checksum", "transactional", "log_id", "operation",
                                                 "expected", "why", "again")}
    return (RECORD_APPLY_SQL.format(**fixed, **keep), RECORD_ROLLBACK_SQL.format(**fixed, **keep),
            RECORDS_CHECK_SQL.format(**fixed, **keep))


STARTED_NOW = "SELECT pg_catalog.set_config('schema_tools.started', pg_catalog.clock_timestamp()::text, {local})"
"""Marks when a migration started (each of a group sent in one query shares one now())."""


RECORDED = b"schema_tools_recorded"
"""The first column of a record statement's reply: the server's word that the record ran."""


def apply_record_text(migration: Migration, books: Books) -> str:
    """One statement recording an applied migration in yoyo's tables and ours; run it in the
    migration's transaction. The duration: since STARTED_NOW ran, else the transaction's age. A
    repeatable migration (Flyway's R__) applied again updates its record."""
    again = " ON CONFLICT (migration_hash) DO UPDATE SET applied_at_utc = EXCLUDED.applied_at_utc"
    return _templates(books)[0].format(
        hash=literal(yoyo_hash(migration.id)), id=literal(migration.id), checksum=literal(migration.checksum),
        transactional="true" if migration.transactional else "false", log_id=literal(str(uuid.uuid1())),
        again=again if migration.repeatable else "")


def rollback_record_text(migration_id: str, books: Books, operation: str = "rollback") -> str:
    """One statement forgetting an applied migration in yoyo's tables and ours.

    ``operation`` is what yoyo's log says: ``rollback``, or ``unmark`` when only the record goes.
    """
    return _templates(books)[1].format(hash=literal(yoyo_hash(migration_id)), id=literal(migration_id),
                                       operation=literal(operation), log_id=literal(str(uuid.uuid1())))


def apply_record(migration: Migration, books: Books) -> sql.SQL:
    """``apply_record_text`` as a psycopg query."""
    return sql.SQL(apply_record_text(migration, books))


def rollback_record(migration_id: str, books: Books, operation: str = "rollback") -> sql.SQL:
    """``rollback_record_text`` as a psycopg query."""
    return sql.SQL(rollback_record_text(migration_id, books, operation))


RECORDS_CHECK_SQL = """
SELECT CASE WHEN (SELECT count(*) FROM {yoyo_migration} WHERE migration_id = {id}) = {expected}
             AND (SELECT count(*) FROM {ours} WHERE migration_id = {id}{checksum}) = {expected}
       THEN 1 ELSE (SELECT {why}::text)::integer END  -- a subquery: never folded at plan time
"""


def records_check_text(migration_id: str, books: Books, checksum: str | None) -> str:
    """One statement, run after a record in its transaction, that fails it unless the records are
    what the record statement wrote (``checksum``: applied with it; None: rolled back): a trigger,
    rule or policy that swallowed or faked a record stops the migration instead of lying."""
    verb = "written" if checksum is not None else "removed"
    return _templates(books)[2].format(
        id=literal(migration_id), expected="1" if checksum is not None else "0",
        checksum=f" AND checksum = {literal(checksum)}" if checksum is not None else "",
        why=literal(f"schema-tools: the history record of {migration_id} was not {verb} as the runner wrote it "
                  "(a trigger, rule or policy on the history tables?)"))


def records_check(migration_id: str, books: Books, checksum: str | None) -> sql.SQL:
    """``records_check_text`` as a psycopg query."""
    return sql.SQL(records_check_text(migration_id, books, checksum))


def record_event(conn: psycopg.Connection, books: Books, operation: str, migration_id: str | None, detail: str) -> None:
    """Append to our own audit trail (repair and other deliberate interventions)."""
    conn.execute(
        f"INSERT INTO {books.table('_schema_tools_events')} (operation, migration_id, detail, actor) "
        "VALUES (%s, %s, %s, %s)".encode(),
        (operation, migration_id, detail, actor()),
    )
