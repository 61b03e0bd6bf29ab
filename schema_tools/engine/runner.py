"""Apply, roll back and report migrations, always under the migration lock: the coordinator.

A transactional migration's statements, yoyo's record and our checksum row commit in one
transaction: after a crash at any instant the migration is applied and recorded, or
neither. A non-transactional one (``-- transactional: false``) runs statement by statement
in autocommit and is recorded once all of them succeeded. The jobs live beside it: ``execute``
(running a migration), ``failures`` (errors as psql shows them), ``heal`` (INVALID indexes),
``choose`` (which migrations), ``verified`` (apply, verify or undo), ``data_loss``, ``baseline``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import psycopg

from ..config import Settings
from ..errors import (DataLossRefused, DatabaseUnavailable, Interrupted, MigrationError, MigrationFailed, OnlyItsTool,
                      ValidationFailed)
from ..migration_files.model import Migration
from ..sql.statement import Statement
from . import history
from .choose import to_roll_back, up_to, with_dependencies
from .data_loss import dropped_columns, holding_values, losses, snapshot
from .execute import Stopped, Work, apply_group, next_group, run_migration
from .heal import heal
from .lock import migration_lock
from .model import MigrationState, RunResult
from .refuse import refuse_unrunnable
from .session import Interrupts, catalog_first, control_lost, session_of, work_connection
from .validate import check_history
from .verified import BEGIN_MODES, Verify, apply_verified, undo_after_failure, verify_or_undo

Progress = Callable[[str], None]
Confirm = Callable[[list[str]], bool]


def migration_states(conn: psycopg.Connection, migrations: Sequence[Migration]) -> list[MigrationState]:
    """Every migration in the folder or the database, applied or pending, in apply order; what
    the folder's own tool lists as applied in its history table is noted."""
    from ..migration_files.model import Migrations
    from .their_history import their_history

    done = history.applied(conn)
    known = {m.id for m in migrations}
    theirs = their_history(conn, migrations) if isinstance(migrations, Migrations) else None
    states = [_state(done[m.id], "applied", _note(m, done)) if m.id in done and not again(m, done[m.id])
              else MigrationState(m.id, "pending", done[m.id].applied_at if m.id in done else None, m.checksum,
                                  note=_note(m, done)) for m in migrations]
    if theirs is not None:
        listed = set(theirs.applied)
        adopt = f"applied by its tool ({theirs.table}): 'schema-tools baseline --adopt' records it"
        states = [replace(s, note=adopt + (f"; {s.note}" if s.note else "")) if s.state == "pending" and s.id in listed
                  else s for s in states]
        first = next((i for i, s in enumerate(states) if s.state == "pending"), None)
        if theirs.refused and first is not None:
            states[first] = replace(states[first], note=theirs.refused)
    missing = [_state(a, "missing") for a in done.values() if a.id not in known]
    return missing + states


def _state(record: history.Applied, state: str, note: str = "") -> MigrationState:
    return MigrationState(record.id, state, record.applied_at, record.checksum, record.duration_ms, record.applied_by,
                          note)


def _note(m: Migration, done: dict[str, history.Applied]) -> str:
    if m.only_tool:
        return f"only {m.only_tool} can run it: migrate stops before it"
    if m.id in done and again(m, done[m.id]):
        return "repeatable, changed since it was applied: migrate applies it again"
    return ""


@contextmanager
def _locked(control: psycopg.Connection, settings: Settings) -> Iterator[Work]:
    """The run's two connections: the lock and the bookkeeping on ``control``, a work connection
    (same login, pinned before each migration) for the migrations, signals watched."""
    with catalog_first(control) as path, migration_lock(control, settings.lock_wait):
        session = session_of(control, path)
        books = history.locate(control, writing=True)
        history.ensure_tables(control, books)
        with work_connection(control, session, settings.lock_wait) as conn:
            interrupts = Interrupts(conn, control)
            with interrupts.watching():
                yield Work(conn, books, session, interrupts, control)


def _interrupted(work: Work, done: Sequence[tuple[str, int]], planned: Sequence[Migration], stop: Stopped | None,
                 verb: str = "applied") -> Interrupted:
    signum = work.interrupts.signal if work.interrupts else 0
    left = len(planned) - len(done)
    running = f"; {stop.running}" if stop else ""
    kept = f" ({stop.committed})" if stop and stop.committed else ""
    return Interrupted(f"interrupted: {len(done)} {verb}, {left} not{running}{kept}", signum=signum,
                       hint="nothing runs on after the runner: run the command again to go on")


def apply_pending(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration],
               progress: Progress | None = None, only: Collection[str] | None = None, verify: Verify | None = None,
               to: str | None = None, undo_check: Verify | None = None) -> RunResult:
    """Apply every pending migration (or only ``only`` and what they depend on), in order, each
    atomically with its record. With ``verify``: the result must pass it (problems: a list of
    lines), or the database ends as it was -- one transaction for all when every pending
    migration is transactional, else their rollback files (each checked by ``undo_check``
    before it commits, when given) -- and VerificationFailed is raised. ``conn`` holds the lock; the migrations run on a second connection of the same login."""
    wanted = with_dependencies(migrations, only) if only is not None else {m.id for m in migrations}
    if to is not None:
        wanted &= {m.id for m in up_to(migrations, to)}
    result = RunResult()
    with _locked(conn, settings) as work:
        done = history.applied(conn, work.books)
        pending = [m for m in migrations if m.id in wanted and (m.id not in done or again(m, done[m.id]))]
        _not_adopted(conn, migrations, pending)
        foreign = next((i for i, m in enumerate(pending) if m.only_tool), None)
        stop_before = pending[foreign] if foreign is not None else None
        pending = pending[:foreign]
        for m in pending:  # refused before anything runs
            refuse_unrunnable(m)
        # What a killed run left INVALID would make validate refuse: heal it first.
        result.notes += heal(conn, work.books, pending)
        report = check_history(conn, settings, migrations, done, work.books)
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
        if verify is not None and pending and all(m.transactional for m in pending):
            apply_verified(work, pending, settings, verify, result)
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
        try:
            while index < len(pending):
                if work.interrupted():
                    raise _interrupted(work, result.done, pending, None)
                if control_lost(conn):
                    raise DatabaseUnavailable(
                        f"the connection holding the migration lock was closed (by the server or another session) "
                        f"after {len(result.done)} migration(s); {len(pending) - index} were not applied",
                        hint="run migrate again; if a migration ends sessions (pg_terminate_backend), make it spare "
                        "the runner's")
                group = next_group(pending, index)
                now = apply_group(work, group, settings) if len(group) > 1 else []
                applied(now)
                if len(now) < len(group):  # alone, or what a group left: the one-by-one path, with its retries
                    m = group[len(now)]
                    applied([(m.id, run_migration(work, m, settings, rollback=False))])
                    now.append((m.id, 0))
                index += len(now)
        except Stopped as stop:
            applied(stop.applied)
            raise _interrupted(work, result.done, pending, stop) from None
        except MigrationError as failure:
            if verify is None:
                raise
            done_ids = {mid for mid, _ in result.done}
            raise undo_after_failure(work, [m for m in pending if m.id in done_ids], settings, undo_check,
                                     failure) from None
        if verify is not None and pending:
            verify_or_undo(work, pending, settings, verify, undo_check)
        hook = getattr(migrations, "post_apply", None)
        if hook is not None and result.done:
            _post_apply(work, hook)
            if progress:
                progress(f"ran {hook.path.name} (the post-apply hook)")
    if stop_before is not None:
        raise OnlyItsTool(f"stopped before {stop_before.path.name}: only {stop_before.only_tool} can run it "
                          f"({len(result.done)} applied before it)", migration_id=stop_before.id,
                          hint=f"run it with {stop_before.only_tool.split(' ')[0]}, then 'schema-tools baseline "
                          "--adopt' records it, and migrate goes on")
    return result


def _not_adopted(conn: psycopg.Connection, migrations: Sequence[Migration], pending: Sequence[Migration]) -> None:
    """Refuse to run again what the folder's own tool lists as applied in its history table."""
    from ..migration_files.model import Migrations
    from .their_history import their_history

    theirs = their_history(conn, migrations) if isinstance(migrations, Migrations) and pending else None
    if theirs is None:
        return
    listed = set(theirs.applied)
    again_ = [m.id for m in pending if m.id in listed]
    if theirs.refused:  # a dirty or failed state: found, as adopt finds it (exit 1)
        raise MigrationFailed(f"{theirs.refused}; nothing was applied")
    if again_:
        raise MigrationError(f"{theirs.table} lists {len(again_)} pending migration(s) as applied (first: {again_[0]}); "
                             "nothing was applied", hint="record what that tool applied first: "
                             "'schema-tools baseline --adopt', then migrate goes on from there")


def _post_apply(work: Work, hook: Migration) -> None:
    """yoyo's post-apply hook, after the migrations: its statements in one transaction (unless it
    says ``transactional: false``), recorded nowhere; a failure names its line (exit 1)."""
    refuse_unrunnable(hook)
    stmt = None
    try:
        if hook.transactional:
            with work.conn.transaction():
                for stmt in hook.statements:
                    work.conn.execute(stmt.sql.encode(), prepare=False)
        else:
            for stmt in hook.statements:
                work.conn.execute(stmt.sql.encode(), prepare=False)
    except psycopg.Error as exc:
        line = f":{stmt.line}" if stmt is not None else ""
        raise MigrationFailed(f"{hook.path.name}{line}: {str(exc).strip().splitlines()[0]} (the migrations stay "
                              "applied; the hook's transaction was rolled back)", hint="fix the hook and run migrate "
                              "again after the next migration, or run it by hand") from None


def again(m: Migration, record: history.Applied) -> bool:
    """A repeatable migration (Flyway's R__) whose file changed since it was applied: applied again."""
    return m.repeatable and record.checksum is not None and record.checksum != m.checksum


def roll_back(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration], *,
                to: str | None = None, everything: bool = False, progress: Progress | None = None,
                confirm: Confirm | None = None) -> RunResult:
    """Roll back the last applied migration, or all after ``to``, or all; each atomically. When
    the rollback files would drop rows, ``confirm`` (shown what) must say yes, else nothing is
    rolled back (DataLossRefused)."""
    result = RunResult()
    with _locked(conn, settings) as work:
        done = history.applied(conn, work.books)
        missing = [mid for mid in done if mid not in {m.id for m in migrations}]
        if missing:
            raise MigrationError(f"applied migration {missing[0]} has no file in {settings.migrations_dir}",
                                 hint="restore the file (and its .rollback.sql) before rolling back")
        plan = to_roll_back(migrations, done, to, everything)
        foreign = [m for m in plan if m.only_tool]
        if foreign:
            raise OnlyItsTool(f"{foreign[0].path.name}: only {foreign[0].only_tool} can roll it back",
                              migration_id=foreign[0].id, hint="nothing was rolled back; roll back the migrations "
                              f"after it only (rollback --to {foreign[0].id}), then use its tool")
        no_rollback = [m for m in plan if m.rollback_text is None]
        if no_rollback and no_rollback[0].no_rollback:
            raise MigrationError(f"{no_rollback[0].id} cannot be rolled back: {no_rollback[0].no_rollback}",
                                 migration_id=no_rollback[0].id,
                                 hint="nothing was rolled back; undo it with a new migration")
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
        for m in plan:
            refuse_unrunnable(m)
        moving = [f"{m.rollback_path.name}:{s.line} moves a sequence ({s.moves_sequence}), which no rollback of a "
                  "transaction undoes" for m in plan for s in m.rollback_statements if s.moves_sequence]
        if moving and (confirm is None or not confirm(moving)):
            raise DataLossRefused(f"{moving[0]}; nothing was rolled back", hint="pass --yes to roll back anyway")
        try:
            if all(m.transactional for m in plan):
                _roll_back_measured(work, settings, plan, result, confirm)
            else:
                outside = [m.id for m in plan if not m.transactional and not all(map(_keeps_data, m.rollback_statements))]
                unmeasured = [f"{', '.join(outside)} roll(s) back outside a transaction: what that loses cannot be "
                              "measured before it is lost"]
                if outside and (confirm is None or not confirm(unmeasured)):
                    raise DataLossRefused(f"{unmeasured[0]}; nothing was rolled back",
                                          hint="back the data up; pass --yes to roll back anyway")
                for m in plan:
                    if work.interrupted():
                        raise Stopped("")
                    result.done.append((m.id, run_migration(work, m, settings, rollback=True)))
        except Stopped as stop:
            raise _interrupted(work, result.done, plan, stop if stop.running else None, "rolled back") from None
        if progress:
            for mid, ms in result.done:
                progress(f"rolled back {mid} ({ms} ms)")
    return result


def _keeps_data(stmt: Statement) -> bool:
    """A statement of a kind that cannot lose data (building, dropping or rebuilding an index, a
    comment, a setting): a non-transactional rollback made of them needs no yes."""
    kind = stmt.kind
    if kind == "DropStmt":
        return stmt.fields.get("removeType") == "OBJECT_INDEX"
    return kind in ("IndexStmt", "ReindexStmt", "CommentStmt", "VariableSetStmt")


def _roll_back_measured(work: Work, settings: Settings, plan: Sequence[Migration], result: RunResult,
                        confirm: Confirm | None) -> None:
    """Every rollback in one transaction; what it lost is read from the server before the
    transaction ends, and it commits only when nothing was lost or ``confirm`` says yes."""
    done: list[tuple[str, int]] = []
    with work.conn.transaction():
        work.conn.execute(BEGIN_MODES)
        before = snapshot(work.conn, work.books.schema, history.TABLES)
        with work.conn.transaction(force_rollback=True):  # a first run, undone: which columns go?
            for m in plan:
                run_migration(work, m, settings, rollback=True, inside=True)
            dropped = dropped_columns(work.conn, before)
        empty = set(dropped) - holding_values(work.conn, before, dropped)  # read while they still exist
        for m in plan:
            if work.interrupted():
                raise Stopped("")
            done.append((m.id, run_migration(work, m, settings, rollback=True, inside=True)))
        lost = losses(work.conn, before, work.books.schema, history.TABLES, empty)
        if lost and (confirm is None or not confirm(lost)):
            raise DataLossRefused(f"rolling back would lose data: {'; '.join(lost)}; nothing was rolled back (the "
                                  "rollback ran in a transaction that was undone)",
                                  hint="back the data up; pass --yes to roll back anyway (the data is lost)")
    result.done.extend(done)
