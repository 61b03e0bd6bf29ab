"""A layout's own checks of its migrations (sqitch's ``verify/`` scripts), run by ``verify``:
each applied migration's script runs in a transaction that is always rolled back (its own
``BEGIN``/``ROLLBACK`` aside); an error is a failed check, a pending migration's is skipped."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..findings import Check, Finding, Severity
from ..migration_files.model import Migration
from ..sql.script import read_script
from . import history

GROUP = "verify scripts"


class _Undo(Exception):
    """Raised to roll the check's transaction back."""


def run_check_scripts(conn: psycopg.Connection, migrations: Sequence[Migration]) -> list[Check]:
    """One check per migration that has a check script."""
    done = history.applied(conn)
    checks = []
    for m in migrations:
        if m.check_text is None or m.check_file is None:
            continue
        if m.id not in done:
            checks.append(Check(m.id, GROUP, skipped=f"{m.id} is not applied"))
            continue
        script = read_script(m.check_text, trees=True)
        finding = None
        try:
            with conn.transaction():
                for stmt in script.statements:
                    if stmt.kind == "TransactionStmt":
                        continue
                    try:
                        conn.execute(stmt.sql.encode(), prepare=False)
                    except psycopg.Error as exc:
                        finding = Finding("verify-script", f"{m.check_file.name}:{stmt.line}: "
                                          f"{str(exc).strip().splitlines()[0]}", Severity.ERROR, m.id,
                                          f"the database does not hold what {m.id} deployed: see {m.check_file}",
                                          str(m.check_file), stmt.line)
                        break
                raise _Undo
        except _Undo:
            pass
        checks.append(Check(m.id, GROUP, (finding,) if finding else ()))
    return checks
