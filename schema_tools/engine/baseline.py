"""Baseline: record migrations as applied without running them (a database built without them)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..config import Settings
from ..errors import MigrationError
from ..migration_files.model import Migration
from . import history
from .lock import migration_lock


def record_applied_on(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration], why: str) -> None:
    """Record ``migrations`` as applied without running them (one transaction, under the lock)."""
    with migration_lock(conn, settings.lock_wait):
        books = history.locate(conn, writing=True)
        history.ensure_tables(conn, books)
        done = history.applied(conn, books)
        already = [m.id for m in migrations if m.id in done]
        if already:
            raise MigrationError(f"{already[0]} is already applied: a baseline adopts migrations no one applied",
                                 hint="run migrate for the rest, or baseline --to an earlier id")
        with conn.transaction():
            for m in migrations:
                conn.execute(history.apply_record(m, books))
                history.record_event(conn, books, "baseline", m.id, why)
