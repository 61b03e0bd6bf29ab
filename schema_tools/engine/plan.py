"""``plan``: what migrate would do, changing nothing."""

from __future__ import annotations

from . import history
import psycopg

from ..config import Settings
from ..sqltext.lock_levels import lock_for, normalise
from .files import Migration, read_migrations
from .model import PlannedMigration, PlannedStatement


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


def plan_on(conn: psycopg.Connection, settings: Settings) -> list[PlannedMigration]:
    """The pending migrations, in the order migrate would apply them."""
    migrations = read_migrations(settings.migrations_dir)
    done = history.applied(conn)
    return [planned(m, settings) for m in migrations if m.id not in done]
