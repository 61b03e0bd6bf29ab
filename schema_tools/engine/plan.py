"""``plan``: what migrate would do, changing nothing."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..config import Settings
from ..migration_files.model import Migration
from . import history
from .execute import timeouts
from .model import PlannedMigration, PlannedStatement


def planned(m: Migration, settings: Settings) -> PlannedMigration:
    """One migration as plan shows it: its statements and the lock each takes."""
    statements = tuple(PlannedStatement(s.line, s.folded, s.lock.kind, s.lock.lock, s.lock.note) for s in m.statements)
    lock_timeout, statement_timeout = timeouts(m, settings)
    return PlannedMigration(m.id, str(m.path), m.transactional, lock_timeout, statement_timeout, statements)


def plan_on(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration]) -> list[PlannedMigration]:
    """The pending migrations, in the order migrate would apply them."""
    done = history.applied(conn)
    return [planned(m, settings) for m in migrations if m.id not in done]
