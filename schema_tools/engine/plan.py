"""``plan``: what migrate would do, changing nothing."""

from __future__ import annotations

from dataclasses import dataclass

from . import history
from ..server import connect as db
from ..config import Settings
from ..sqltext.lock_levels import lock_for, normalise
from .files import Migration, read_migrations


@dataclass(frozen=True)
class PlannedStatement:
    line: int
    sql: str
    kind: str
    lock: str
    note: str


@dataclass(frozen=True)
class PlannedMigration:
    id: str
    file: str
    transactional: bool
    lock_timeout: str
    statement_timeout: str
    statements: tuple[PlannedStatement, ...]


def planned(m: Migration, settings: Settings) -> PlannedMigration:
    """One migration as plan shows it: its statements and the lock each takes."""
    statements = []
    for stmt in m.statements:
        info = lock_for(stmt.sql)
        statements.append(PlannedStatement(stmt.line, normalise(stmt.sql), info.kind, info.lock, info.note))
    return PlannedMigration(m.id, str(m.path), m.transactional,
                            m.directives.get("lock_timeout", settings.lock_timeout),
                            m.directives.get("statement_timeout", settings.statement_timeout),
                            tuple(statements))


def plan(settings: Settings) -> list[PlannedMigration]:
    """The pending migrations, in the order migrate would apply them."""
    migrations = read_migrations(settings.migrations_dir)
    with db.connect_for(settings, "plan") as conn:
        done = history.applied(conn)
    return [planned(m, settings) for m in migrations if m.id not in done]
