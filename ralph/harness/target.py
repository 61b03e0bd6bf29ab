"""The target database of a run: its URL resolved once, one connection held for the whole run
(it also holds the run lock), and what the harness reads of it; the login promotion runs as,
and the server where the agent's scratch database and the shadow live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schema_tools import Catalog, LockTimeout, Settings
from schema_tools.harness import give_to_owner, read_schema_on, schema_fingerprint_on, status_on

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
    owner_role: str | None = None  # set when the harness made or reuses the owner login (the URL is a superuser's)
    owner: Settings | None = None  # promotion's login (owns the application's objects, nothing more); None: settings
    scratch: Settings | None = None  # the server for scratch databases and the shadow (its admin's URL); None: settings
    scratch_admin: psycopg.Connection | None = None  # a connection to it; None: conn

    @property
    def promotion(self) -> Settings:
        """What the pending migrations are applied to the target as: before it, whatever the
        harness's role made since (the bookkeeping...) is handed to the owner login."""
        if self.owner_role is not None:
            import psycopg

            try:
                give_to_owner(self.conn, self.owner_role, self.settings.lock_timeout)
            except psycopg.errors.LockNotAvailable:
                raise LockTimeout(f"handing the application's objects to {self.owner_role} waited longer than "
                                  f"lock_timeout {self.settings.lock_timeout} for a lock another session holds",
                                  hint="nothing was promoted; run again when the application's transaction ends") from None
        return self.owner or self.settings

    @property
    def scratch_server(self) -> tuple[Settings, psycopg.Connection]:
        """The settings and admin connection scratch logins and shadows are made through."""
        return self.scratch or self.settings, self.scratch_admin or self.conn

    def read(self) -> TargetState:
        """The catalog and the applied migrations, read on the run's connection."""
        return read_state(self.conn, self.settings)

    def fingerprint(self) -> str:
        return schema_fingerprint_on(self.conn)
