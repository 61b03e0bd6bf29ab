"""``--fleet``: one outcome per database, as a table or JSON; and each verb's outcome on one of
them (the detail column)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..findings.model import summary_line
from ..fleet import CODES, OK, PROBLEMS
from . import as_format

if TYPE_CHECKING:
    from ..engine.model import RunResult
    from ..findings import Report
    from ..fleet import Outcome


def render_fleet(outcomes: Sequence[Outcome], fmt: str) -> str:
    """Every database (its URL masked), its outcome, how long it took, and a last line of counts."""
    return as_format(fmt, lambda: _table(outcomes), lambda: [asdict(o) for o in outcomes])


def report_outcome(report: Report) -> tuple[str, str]:
    """A report verb's outcome on one database: problems when it has an error; its summary line."""
    return (PROBLEMS if report.errors else OK), summary_line(report)


def migrate_outcome(result: RunResult) -> tuple[str, str]:
    """``migrate``'s outcome on one database: how many migrations it applied."""
    return OK, f"{len(result.done)} migration(s) applied"


def _table(outcomes: Sequence[Outcome]) -> str:
    width = max((len(o.database) for o in outcomes), default=8)
    lines = [f"{'database':<{width}}  {'outcome':<8}  {'seconds':>7}  detail"]
    lines += [f"{o.database:<{width}}  {o.outcome:<8}  {o.seconds:>7.2f}  {o.detail}" for o in outcomes]
    counts = {k: sum(1 for o in outcomes if o.outcome == k) for k in CODES}
    lines.append(f"{len(outcomes)} databases: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return "\n".join(lines)
