"""``repair``: the repairs recorded, one line each."""

from __future__ import annotations

from collections.abc import Sequence

from . import as_format


def render_repair(repairs: Sequence[str], fmt: str) -> str:
    """What ``repair`` recorded (each also logged in _schema_tools_events)."""
    def text() -> str:
        return "\n".join([*repairs, f"{len(repairs)} repair(s) recorded" if repairs else "nothing to repair"])

    return as_format(fmt, text, lambda: {"repairs": list(repairs)})
