"""Constants PostgreSQL folds from the clock (``now()``, ``'now'``, ``CURRENT_DATE``...) into a
stored definition when it is created: a view made today holds today's date as a literal."""

from __future__ import annotations

import re
from datetime import date

_LITERAL = re.compile(r"'(\d{4})-(\d{2})-(\d{2})((?:[ T][0-9:.]+)?(?:[+-]\d{2}(?::?\d{2})?)?)'")
CLOCK = "'<clock>'"


def without_clock(text: str, since: date, until: date) -> str:
    """``text`` with every quoted date or timestamp literal dated from ``since`` to ``until``
    (the days a check ran: what the clock could have folded in) written ``'<clock>'``. A literal
    of any other day (a constant someone wrote) is kept, so it still counts as a difference."""
    if "'" not in text:
        return text

    def fold(m: re.Match[str]) -> str:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return m.group(0)
        return CLOCK if since <= day <= until else m.group(0)

    return _LITERAL.sub(fold, text)
