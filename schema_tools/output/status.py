"""``status``: every migration with its state and when it was applied."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..server.urls import mask_url
from . import as_format

if TYPE_CHECKING:
    from ..engine.model import MigrationState

STATES = ("applied", "pending", "missing")


def render_status(states: Sequence[MigrationState], fmt: str, *, database: str, migrations_dir: Path) -> str:
    """The states of ``status`` on ``database`` (its password masked), from ``migrations_dir``."""
    url = mask_url(database)

    def text() -> str:
        lines = [f"database:   {url}", f"migrations: {migrations_dir}"]
        for s in states:
            when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC") if s.applied_at else ""
            lines.append(f"  {s.state:<8} {when:<24} {s.id}" + (f"  ({s.note})" if s.note else ""))
        counts = {k: sum(1 for s in states if s.state == k) for k in STATES}
        lines.append(", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no migrations")
        return "\n".join(lines)

    return as_format(fmt, text, lambda: {
        "database": url,
        "migrations_dir": str(migrations_dir),
        "migrations": [{"id": s.id, "state": s.state, "applied_at": s.applied_at.isoformat() if s.applied_at else None,
                        "checksum": s.checksum, "duration_ms": s.duration_ms, "applied_by": s.applied_by,
                        **({"note": s.note} if s.note else {})}
                       for s in states],
    })
