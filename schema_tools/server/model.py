"""What the server layer hands out, as plain data (no psycopg): importable by anyone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScratchLogin:
    """A scratch database and a login that reaches only it: hand ``url`` to someone untrusted."""

    url: str  # the login's own URL, its password inside
    database: str
    role: str
    password: str
    leftovers: list[str] = field(default_factory=list)  # what the login left elsewhere (filled on exit)


@dataclass(frozen=True)
class DatabaseMark:
    """A database as it was at one moment."""

    schema: str  # the fingerprint of its objects
    history: str
    roles: str
    writes: int
    sessions: int
    since: str  # the server's clock
