"""``plan``: what migrate would do, changing nothing."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..config import Settings
from ..migration_files.model import Migration
from ..sql.effects import Target
from ..sql.locks import lock_where
from . import history
from .execute import timeouts
from .model import PlannedMigration, PlannedStatement


class Relations:
    """Whether a relation exists before a migration runs (as ``plan --trace`` counts them): on the
    database, or made by a pending migration before it (the views CREATE [OR REPLACE] VIEW makes).
    One made earlier in the same migration is nobody else's until it commits."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.made: set[Target] = set()

    def __call__(self, target: Target) -> bool:
        if target in self.made:
            return True
        found = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (target.sql,)).fetchone()
        return bool(found and found[0])


def planned(m: Migration, settings: Settings, relations: Relations) -> PlannedMigration:
    """One migration as plan shows it: its statements and the lock each takes."""
    statements = []
    for s in m.statements:
        info = lock_where(s, relations)
        statements.append(PlannedStatement(s.line, s.folded, info.kind, info.lock, info.note))
    relations.made |= {s.targets[0] for s in m.statements if s.kind == "ViewStmt" and s.targets}
    lock_timeout, statement_timeout = timeouts(m, settings)
    return PlannedMigration(m.id, str(m.path), m.transactional, lock_timeout, statement_timeout, tuple(statements))


def plan_on(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration]) -> list[PlannedMigration]:
    """The pending migrations, in the order migrate would apply them."""
    done = history.applied(conn)
    relations = Relations(conn)
    return [planned(m, settings, relations) for m in migrations if m.id not in done]
