"""The target database of a run: its URL resolved once, one connection held for the whole run
(it also holds the run lock), and what the harness reads of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schema_tools import Catalog, Settings
from schema_tools.harness import read_schema_on, schema_fingerprint_on, status_on

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class TargetState:
    """The target's schema and the ids of its applied migrations (or applied and missing)."""

    catalog: Catalog
    applied: frozenset[str]


def read_state(conn: psycopg.Connection, settings: Settings) -> TargetState:
    """A database's catalog and the ids of its applied (or applied and missing) migrations."""
    applied = frozenset(s.id for s in status_on(conn, settings) if s.state in ("applied", "missing"))
    return TargetState(read_schema_on(conn, settings), applied)


@dataclass(frozen=True)
class Target:
    settings: Settings  # database_url resolved: never None
    conn: psycopg.Connection

    def read(self) -> TargetState:
        """The catalog and the applied migrations, read on the run's connection."""
        return read_state(self.conn, self.settings)

    def fingerprint(self) -> str:
        return schema_fingerprint_on(self.conn)
