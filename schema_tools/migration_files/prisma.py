"""Prisma's layout: ``<timestamp>_<name>/migration.sql``, one folder per migration, beside
``migration_lock.toml`` (whose provider must be PostgreSQL's).

Migrations apply in the order of their folders' names. Prisma sends each script whole, with no
transaction of its own: a script that begins or ends transactions itself, or holds a statement no
transaction block takes, runs statement by statement; any other in one transaction with its
record. Prisma has no down migrations: rollback refuses, saying so. No placeholders.
"""

from __future__ import annotations

from ..errors import MigrationError
from .model import Migrations
from .source import Source, migration
from .text import read_text

NO_DOWN = "Prisma migrations have no down migration"


def read_layout(source: Source) -> Migrations:
    lock = source.folder / "migration_lock.toml"
    if lock.is_file():
        provider = next((line.partition("=")[2].strip().strip("\"'") for line in read_text(lock).splitlines()
                         if line.partition("=")[0].strip() == "provider"), "postgresql")
        if provider not in ("postgresql", "postgres"):
            raise MigrationError(f"{lock}: provider {provider!r} is not PostgreSQL",
                                 hint="these migrations are written for another database")
    items = []
    for name in source.names:
        script = source.folder / name / "migration.sql"
        if not script.is_file():
            continue
        items.append(migration(source, name, script, read_text(script), None, syntax="none",
                               transactional="auto", no_rollback=NO_DOWN))
    return Migrations(source.folder, tuple(items), "prisma")
