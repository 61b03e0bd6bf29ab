"""Apply, then verify, or undo: the result must pass ``verify`` before anything stays. All in one
transaction when every pending migration is transactional; else applied one by one and, on
problems, undone with their rollback files."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg

from ..config import Settings
from ..errors import MigrationError, VerificationFailed
from ..migration_files.model import Migration
from .execute import Work, roll_back_inside, run_migration
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


def _guarded_undo(work: Work, m: Migration, settings: Settings, undo_check: Verify) -> None:
    """``m``'s rollback in one transaction, committed only when ``undo_check`` finds nothing."""
    with work.conn.transaction():
        work.conn.execute(BEGIN_MODES)
        roll_back_inside(work, m, settings)
        problems = undo_check(work.conn)
        if problems:
            raise MigrationError(f"rolling back {m.id} would {problems[0]}, so it was not run",
                                 migration_id=m.id)


def verify_or_undo(work: Work, pending: Sequence[Migration], settings: Settings, verify: Verify,
                   undo_check: Verify | None = None) -> None:
    """Applied one by one (some are not transactional): on problems, roll back with the rollback
    files. With ``undo_check``, each rollback whose statements can run in a transaction runs in
    one, committed only when ``undo_check`` finds nothing (what it would change is prevented, not
    reported)."""
    problems = verify(work.conn)
    if not problems:
        return
    undone: list[str] = []
    try:
        _roll_back(work, pending, settings, undo_check, undone)
    except MigrationError as exc:
        raise VerificationFailed(_summary(problems, pending), problems=problems, restored=False,
                                 hint=f"rolling back failed ({exc.one_line()}); rolled back: "
                                 f"{', '.join(undone) or 'nothing'}") from None
    raise VerificationFailed(_summary(problems, pending), problems=problems, restored=True,
                             hint=f"rolled back with their rollback files: {', '.join(undone)}")


def undo_after_failure(work: Work, done: Sequence[Migration], settings: Settings, undo_check: Verify | None,
                       failure: MigrationError) -> MigrationError:
    """A verified run that cannot run in one transaction failed part-way: the migrations it had
    applied are rolled back (the last first, guarded by ``undo_check`` as in ``verify_or_undo``),
    so it ends as it was but for what the failing migration itself committed; ``failure`` comes
    back with what happened."""
    undone: list[str] = []
    try:
        _roll_back(work, done, settings, undo_check, undone)
    except MigrationError as exc:
        failure.hint = f"{failure.hint}; rolling back what this run applied failed ({exc.one_line()})".lstrip("; ")
        return failure
    if undone:
        failure.hint = f"{failure.hint}; what this run applied before it was rolled back: {', '.join(undone)}".lstrip("; ")
    return failure


def _roll_back(work: Work, applied: Sequence[Migration], settings: Settings, undo_check: Verify | None,
               undone: list[str]) -> None:
    """Roll back ``applied``, the last first, each guarded by ``undo_check`` when its statements
    can run in a transaction; each id rolled back is appended to ``undone`` (what a failure left)."""
    for m in reversed(applied):
        if m.rollback_text is None:
            raise MigrationError(f"{m.id} has no rollback file", migration_id=m.id)
        if m.irreversible:
            raise MigrationError(f"{m.id} cannot be rolled back: {m.irreversible}", migration_id=m.id)
        if undo_check is not None and not any(s.concurrently for s in m.rollback_statements):
            _guarded_undo(work, m, settings, undo_check)
        else:
            run_migration(work, m, settings, rollback=True)
        undone.append(m.id)
