"""Apply, then verify, or undo: the result must pass ``verify`` before anything stays. All in one
transaction when every pending migration is transactional; else applied one by one and, on
problems, undone with their rollback files."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg

from ..config import Settings
from ..errors import MigrationError, VerificationFailed
from ..migration_files.model import Migration
from .execute import Work, run_migration
from .model import RunResult

BEGIN_MODES = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE, NOT DEFERRABLE"
Verify = Callable[[psycopg.Connection], list[str]]


def _summary(problems: list[str], pending: Sequence[Migration]) -> str:
    return f"{len(problems)} problem(s) after applying {', '.join(m.id for m in pending)}; first: {problems[0]}"


def apply_verified(work: Work, pending: Sequence[Migration], settings: Settings, verify: Verify,
                   result: RunResult) -> None:
    """All in one transaction, committed only when ``verify`` finds nothing."""
    done: list[tuple[str, int]] = []
    conn = work.conn
    with conn.transaction():
        conn.execute(BEGIN_MODES)
        for m in pending:
            done.append((m.id, run_migration(work, m, settings, inside=True)))
        problems = verify(conn)
        if problems:
            raise VerificationFailed(_summary(problems, pending), problems=problems, restored=True,
                                     hint="nothing was committed: the database is as it was (one transaction)")
    result.done.extend(done)


def verify_or_undo(work: Work, pending: Sequence[Migration], settings: Settings, verify: Verify) -> None:
    """Applied one by one (some are not transactional): on problems, roll back with the rollback files."""
    problems = verify(work.conn)
    if not problems:
        return
    undone = []
    try:
        for m in reversed(pending):
            if m.rollback_text is None:
                raise MigrationError(f"{m.id} has no rollback file", migration_id=m.id)
            if m.irreversible:
                raise MigrationError(f"{m.id} cannot be rolled back: {m.irreversible}", migration_id=m.id)
            run_migration(work, m, settings, rollback=True)
            undone.append(m.id)
    except MigrationError as exc:
        raise VerificationFailed(_summary(problems, pending), problems=problems, restored=False,
                                 hint=f"rolling back failed ({exc.one_line()}); rolled back: "
                                 f"{', '.join(undone) or 'nothing'}") from None
    raise VerificationFailed(_summary(problems, pending), problems=problems, restored=True,
                             hint=f"rolled back with their rollback files: {', '.join(undone)}")
