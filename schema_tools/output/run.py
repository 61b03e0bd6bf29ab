"""``migrate`` and ``rollback``: what ran, as a ``RunResult`` says.

In text, the engine streams a line per migration as it runs (the ``progress`` callback); what
is rendered here is the line that closes the run. JSON has everything, once the run is over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..findings import render
from ..findings.json_report import report_data
from . import as_format

if TYPE_CHECKING:
    from ..engine.model import RunResult
    from ..findings import Report

PREFLIGHT_FAILED = "preflight: existing rows would make a pending migration fail; nothing was applied"


def render_migrate(result: RunResult, fmt: str, *, preflight: Report | None = None) -> str:
    """What ``migrate`` applied, and the ``preflight`` report when it was asked for (with errors,
    nothing ran: ``result`` is empty)."""
    def text() -> str:
        if preflight is not None and preflight.errors:
            return f"{render(preflight, 'text')}\n{PREFLIGHT_FAILED}"
        return f"{len(result.done)} migration(s) applied" if result.done else "nothing to apply: the database is up to date"

    return as_format(fmt, text, lambda: {
        "applied": _done(result),
        "notes": list(result.notes),
        "preflight": report_data(preflight) if preflight is not None else None,
    })


def render_rollback(result: RunResult, fmt: str) -> str:
    """What ``rollback`` rolled back."""
    return as_format(fmt, lambda: f"{len(result.done)} migration(s) rolled back" if result.done else "nothing to roll back",
                     lambda: {"rolled_back": _done(result)})


def _done(result: RunResult) -> list[dict[str, object]]:
    return [{"id": mid, "ms": ms} for mid, ms in result.done]
