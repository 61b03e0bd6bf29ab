"""What each verb prints: one module per kind of result, each rendering it as text or JSON.

A ``Report`` (validate, verify, lint, drift, integrity, check-reversible) is rendered by
``schema_tools.findings``, in more formats (JUnit, GitHub annotations, SARIF); the rest here:

    status.py    the migrations' states            status
    plan.py      the planned migrations, preflight plan
    run.py       a RunResult                       migrate, rollback
    repair.py    the repairs recorded              repair
    baseline.py  the drift report, ids recorded    baseline
    generate.py  a Generated draft                 generate
    db.py        the embedded server's state       db
    fleet.py     one outcome per database          --fleet

Each ``render_*`` takes the verb's result and a format of ``FORMATS`` and returns the text to
print. JSON never holds a password: database URLs are masked as the text masks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

FORMATS = ("text", "json")


def as_format(fmt: str, text: Callable[[], str], data: Callable[[], object]) -> str:
    """``text()``, or ``data()`` as indented JSON, as ``fmt`` says."""
    if fmt == "text":
        return text()
    if fmt == "json":
        return json.dumps(data(), indent=2)
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
