"""Apply, roll back and report migrations, always under the migration lock: the coordinator.

A transactional migration's statements, yoyo's record and our checksum row commit in one
transaction: after a crash at any instant the migration is applied and recorded, or
neither. A non-transactional one (``-- transactional: false``) runs statement by statement
in autocommit and is recorded once all of them succeeded. The jobs live beside it: ``execute``
(running a migration), ``failures`` (errors as psql shows them), ``heal`` (INVALID indexes),
``choose`` (which migrations), ``verified`` (apply, verify or undo), ``data_loss``, ``baseline``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import psycopg

from ..config import Settings
from ..errors import DataLossRefused, MigrationError, ValidationFailed
from ..migration_files.model import Migration
from . import history
from .choose import to_roll_back, up_to, with_dependencies
from .data_loss import data_at_risk
from .execute import apply_group, next_group, run_migration
from .heal import heal
from .lock import migration_lock
from .model import MigrationState, RunResult
from .validate import check_history
from .verified import Verify, apply_verified, verify_or_undo

Progress = Callable[[str], None]
Confirm = Callable[[list[str]], bool]


def migration_states(conn: psycopg.Connection, migrations: Sequence[Migration]) -> list[MigrationState]:
    """Every migration in the folder or the database, applied or pending, in apply order."""
    done = history.applied(conn)
    known = {m.id for m in migrations}
    states = [MigrationState(m.id, "applied" if m.id in done else "pending",
                             done[m.id].applied_at if m.id in done else None) for m in migrations]
    missing = [MigrationState(a.id, "missing", a.applied_at) for a in done.values() if a.id not in known]
    return missing + states

def apply_pending(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration],
               progress: Progress | None = None, only: Collection[str] | None = None, verify: Verify | None = None,
               to: str | None = None) -> RunResult:
    """Apply every pending migration (or only ``only`` and what they depend on), in order, each
    atomically with its record. With ``verify``: the result must pass it (problems: a list of
    lines), or the database ends as it was -- one transaction for all when every pending
    migration is transactional, else their rollback files -- and VerificationFailed is raised."""
    wanted = with_dependencies(migrations, only) if only is not None else {m.id for m in migrations}
    if to is not None:
        wanted &= {m.id for m in up_to(migrations, to)}
    result = RunResult()
    with migration_lock(conn, settings.lock_wait):
        history.ensure_tables(conn)
        done = history.applied(conn)
        # What a killed run left INVALID would make validate refuse: heal it first.
        result.notes += heal(conn, [m for m in migrations if m.id not in done and m.id in wanted])
        report = check_history(conn, settings, migrations, done)
        if report.errors:
            first = report.errors[0]
            raise ValidationFailed(
                f"validate found {len(report.errors)} problem(s), so nothing was applied; first: {first.message}",
                findings=list(report.findings),
                hint=f"{first.hint}; 'schema-tools validate' lists them all")
        result.notes.extend(f"{f.severity.value}: {f.message} (fix: {f.hint})" for f in report.findings)
        if progress:
            for note in result.notes:  # said before anything is applied, not after
                progress(note)
        pending = [m for m in migrations if m.id not in done and m.id in wanted]
        if verify is not None and pending and all(m.transactional for m in pending):
            apply_verified(conn, pending, settings, verify, result)
            for mid, ms in result.done:
                if progress:
                    progress(f"applied {mid} ({ms} ms)")
            return result
        def applied(now: list[tuple[str, int]]) -> None:
            result.done.extend(now)
            for mid, ms in now:
                if progress:
                    progress(f"applied {mid} ({ms} ms)")

        index = 0
        while index < len(pending):
            group = next_group(pending, index)
            now = apply_group(conn, group, settings) if len(group) > 1 else []
            applied(now)
            if len(now) < len(group):  # alone, or what a group left: the one-by-one path, with its retries
                m = group[len(now)]
                applied([(m.id, run_migration(conn, m, settings, rollback=False))])
                now.append((m.id, 0))
            index += len(now)
        if verify is not None and pending:
            verify_or_undo(conn, pending, settings, verify)
    return result


def roll_back(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration], *,
                to: str | None = None, everything: bool = False, progress: Progress | None = None,
                confirm: Confirm | None = None) -> RunResult:
    """Roll back the last applied migration, or all after ``to``, or all; each atomically. When
    the rollback files would drop rows, ``confirm`` (shown what) must say yes, else nothing is
    rolled back (DataLossRefused)."""
    result = RunResult()
    with migration_lock(conn, settings.lock_wait):
        history.ensure_tables(conn)
        done = history.applied(conn)
        missing = [mid for mid in done if mid not in {m.id for m in migrations}]
        if missing:
            raise MigrationError(f"applied migration {missing[0]} has no file in {settings.migrations_dir}",
                                 hint="restore the file (and its .rollback.sql) before rolling back")
        plan = to_roll_back(migrations, done, to, everything)
        no_rollback = [m for m in plan if m.rollback_text is None]
        if no_rollback:
            raise MigrationError(f"{no_rollback[0].id} has no rollback file",
                                 migration_id=no_rollback[0].id,
                                 hint=f"write {no_rollback[0].rollback_path.name}; nothing was rolled back")
        declared = [m for m in plan if m.irreversible]
        if declared:
            raise MigrationError(f"{declared[0].id} cannot be rolled back: {declared[0].irreversible}",
                                 migration_id=declared[0].id,
                                 hint="nothing was rolled back; undo it with a new migration, or roll back only "
                                 "the migrations after it (rollback --to " + declared[0].id + ")")
        losses = data_at_risk(conn, plan)
        if losses and (confirm is None or not confirm(losses)):
            raise DataLossRefused(f"rolling back would drop data: {'; '.join(losses)}; nothing was rolled back",
                                  hint="back the data up; pass --yes to roll back anyway (the data is lost)")
        for m in plan:
            ms = run_migration(conn, m, settings, rollback=True)
            result.done.append((m.id, ms))
            if progress:
                progress(f"rolled back {m.id} ({ms} ms)")
    return result
