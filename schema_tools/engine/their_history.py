"""What another tool's own history table lists as applied, read as that tool reads it, so that a
database it managed can be adopted (``baseline --adopt``) and ``status`` can say so.

- Flyway ``flyway_schema_history``: successful versioned rows (and everything at or below a
  ``BASELINE`` row), repeatables whose last successful row has the file's checksum (Flyway's
  CRC32 of the lines); a failed row is refused;
- golang-migrate ``schema_migrations`` (``version``, ``dirty``): every version up to the one
  recorded; a dirty one is refused;
- goose ``goose_db_version``: each version's latest row, when it says applied;
- dbmate ``schema_migrations`` (``version`` alone): the versions listed;
- diesel ``__diesel_schema_migrations``: the versions listed (dashes dropped);
- sqitch's registry ``sqitch.changes``: the changes deployed for the plan's project;
- Prisma ``_prisma_migrations``: finished, not rolled back; a failed one (neither) is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ..migration_files.model import Migration, Migrations


@dataclass
class TheirHistory:
    """What the tool's table says: where it is, the ids it lists as applied (ours), and what stops
    an adoption (a dirty or failed state, named)."""

    table: str
    applied: list[str] = field(default_factory=list)
    refused: str = ""


FIND_SQL = """
SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %(name)s AND c.relkind IN ('r', 'p') AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(false), n.nspname::text) NULLS LAST, n.nspname
LIMIT 1
"""


def _exists(conn: psycopg.Connection, schema: str | None, table: str) -> str | None:
    """The table's qualified name, as PostgreSQL quotes it, when it is there: in ``schema``, else
    the first schema of the search_path that has it, else any (a tool told to keep its table in
    another schema)."""
    found = conn.execute(FIND_SQL, {"name": table, "schema": schema}).fetchone()
    return found[0] if found else None


def _columns(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                        "AND NOT attisdropped", (table,)).fetchall()
    return {r[0] for r in rows}


def _leading(mid: str) -> int:
    digits = mid.split("_", 1)[0].replace("-", "")
    return int(digits) if digits.isdigit() else -1


def flyway_checksum(text: str) -> int:
    """Flyway's checksum of a script: CRC32 over its lines without their endings (a byte-order
    mark dropped), as a signed 32-bit integer."""
    crc = 0
    for line in text.removeprefix("\ufeff").splitlines():
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _flyway(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
    from ..migration_files.flyway import version_key

    found = TheirHistory(table)
    rows = conn.execute(sql.SQL("SELECT version, script, type, checksum, success FROM {} ORDER BY installed_rank")
                        .format(sql.SQL(table))).fetchall()
    failed = [r for r in rows if not r[4]]
    if failed:
        found.refused = (f"{table} holds a failed migration (version {failed[0][0]}, {failed[0][1]}): Flyway "
                         "refuses to go on from it too -- fix the database, then run 'flyway repair'")
        return found
    versions = {version_key(r[0]) for r in rows if r[0] is not None and r[2] not in ("BASELINE", "UNDO_SQL", "SCHEMA",
                                                                                         "DELETE")}
    undone = {version_key(r[0]) for r in rows if r[0] is not None and r[2] == "UNDO_SQL"}
    baseline = max((version_key(r[0]) for r in rows if r[2] == "BASELINE" and r[0] is not None), default=None)
    repeatable = {r[1]: r[3] for r in rows if r[0] is None and r[2] != "DELETE"}  # the last row of each script
    for m in migrations:
        if m.repeatable:
            script = repeatable.get(m.path.name, repeatable.get(m.path.relative_to(migrations.folder).as_posix()))
            if script == flyway_checksum(m.written if m.written is not None else m.text):
                found.applied.append(m.id)
            continue
        key = version_key(m.id[1:].split("__", 1)[0])
        if (key in versions and key not in undone) or (baseline is not None and key <= baseline):
            found.applied.append(m.id)
    return found


def _golang_migrate(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
    found = TheirHistory(table)
    row = conn.execute(sql.SQL("SELECT version, dirty FROM {} LIMIT 1").format(sql.SQL(table))).fetchone()
    if row is None:
        return found
    if row[1]:
        found.refused = (f"{table} is dirty at version {row[0]}: a migration failed half-way -- fix the database "
                         f"by hand, then run 'migrate force {row[0]}' (or the version before it)")
        return found
    found.applied = [m.id for m in migrations if 0 <= _leading(m.id) <= row[0]]
    return found


def _listed(query: str, key: Callable[[Migration], str]) -> Callable[[psycopg.Connection, str, Migrations], TheirHistory]:
    def read(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
        listed = {str(int(v)) if (v := str(r[0]).strip()).isdigit() else v
                  for r in conn.execute(sql.SQL(query).format(sql.SQL(table))).fetchall()}
        return TheirHistory(table, [m.id for m in migrations if key(m) in listed])
    return read


GOOSE = ("SELECT version_id FROM (SELECT DISTINCT ON (version_id) version_id, is_applied FROM {} "
         "ORDER BY version_id, id DESC) latest WHERE is_applied")


def _prisma(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
    found = TheirHistory(table)
    rows = conn.execute(sql.SQL("SELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL FROM {} "
                                "ORDER BY started_at").format(sql.SQL(table))).fetchall()
    failed = [name for name, finished, rolled_back in rows if not finished and not rolled_back]
    if failed:
        found.refused = (f"{table} holds a failed migration, {failed[0]}: Prisma refuses to go on from it too -- "
                         f"fix the database, then run 'prisma migrate resolve --applied {failed[0]}' or "
                         "'--rolled-back'")
        return found
    done = {name for name, finished, rolled_back in rows if finished and not rolled_back}
    found.applied = [m.id for m in migrations if m.id in done]
    return found


def _sqitch(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
    plan = migrations.folder / "sqitch.plan"
    project = next((line.split("=", 1)[1].strip() for line in plan.read_text(encoding="utf-8").splitlines()
                    if line.startswith("%project=")), None) if plan.is_file() else None
    rows = conn.execute(sql.SQL("SELECT change FROM {} WHERE %s::text IS NULL OR project = %s").format(sql.SQL(table)),
                        (project, project)).fetchall()
    deployed = {r[0] for r in rows}
    return TheirHistory(table, [m.id for m in migrations if m.id.split("@", 1)[0] in deployed])


def _dbmate_or_golang(conn: psycopg.Connection, table: str, migrations: Migrations) -> TheirHistory:
    if "dirty" in _columns(conn, table):
        return _golang_migrate(conn, table, migrations)
    return _listed("SELECT version FROM {}", lambda m: str(_leading(m.id)))(conn, table, migrations)


READERS: dict[str, tuple[str | None, str, Callable[[psycopg.Connection, str, Migrations], TheirHistory]]] = {
    "flyway": (None, "flyway_schema_history", _flyway),
    "golang-migrate": (None, "schema_migrations", _golang_migrate),
    "goose": (None, "goose_db_version", _listed(GOOSE, lambda m: str(_leading(m.id)))),
    "dbmate": (None, "schema_migrations", _dbmate_or_golang),
    "diesel": (None, "__diesel_schema_migrations", _listed("SELECT version FROM {}", lambda m: str(_leading(m.id)))),
    "sqitch": ("sqitch", "changes", _sqitch),
    "prisma": (None, "_prisma_migrations", _prisma),
}


def their_history(conn: psycopg.Connection, migrations: Migrations) -> TheirHistory | None:
    """What the folder's tool lists as applied on this database (None: no table of that tool)."""
    if migrations.layout not in READERS:
        return None
    schema, name, read = READERS[migrations.layout]
    table = _exists(conn, schema, name)
    return read(conn, table, migrations) if table else None
