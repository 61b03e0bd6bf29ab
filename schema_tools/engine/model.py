"""What the engine reports, as plain data (no psycopg, no sqlglot): importable by anyone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MigrationState:
    """One migration as ``status`` reports it."""

    id: str
    state: str  # applied | pending | missing (applied, but its file is gone)
    applied_at: datetime | None
    checksum: str | None = None  # recorded at apply; a pending migration's: its file's
    duration_ms: int | None = None  # how long it took to apply (None: pending, or applied by yoyo's CLI)
    applied_by: str | None = None  # user@host that applied it, when recorded
    note: str = ""  # e.g. only its own tool can run it; a repeatable migration changed since applied


@dataclass
class RunResult:
    """What a migrate or rollback did: (migration id, milliseconds) per migration, and notes."""

    done: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedStatement:
    """A statement, the lock the static table says it takes and, when traced, what it took."""

    line: int
    sql: str
    kind: str
    lock: str
    note: str
    observed: tuple[str, ...] | None = None  # traced: "MODE on relation" per lock on a relation that existed before
    traced: str = ""  # "agrees", "differs", or why it was not traced


@dataclass(frozen=True)
class PlannedMigration:
    """A pending migration as ``plan`` shows it: its statements and the lock each takes."""

    id: str
    file: str
    transactional: bool
    lock_timeout: str
    statement_timeout: str
    statements: tuple[PlannedStatement, ...]
