"""``plan --trace``: run the pending migrations on a scratch copy of the schema and record, from
pg_locks, the locks each statement takes on relations that existed before its migration (like
eugene's tracing); compare them with the static lock table.

The scratch database gets the applied migrations from the files (the schema, not the data), then
each pending migration in turn, committed, so the next one sees it. A statement that runs outside
a transaction (``-- transactional: false``) releases its locks before anyone can look: not traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import psycopg

from ..config import Settings
from ..migration_files.model import Migration
from ..sql.locks import STRENGTH
from .model import PlannedMigration, PlannedStatement
from .execute import timeouts
from .refuse import why_refused

HELD = """SELECT l.mode, l.relation FROM pg_locks l
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND l.database = (
  SELECT oid FROM pg_database WHERE datname = current_database())"""
EXISTING = """SELECT c.oid, n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'"""
ONLY_NEW = "not traced: it took no lock on a relation that existed before its migration (it acts on what the migration made)"
MODES = {"AccessShareLock": "ACCESS SHARE", "RowShareLock": "ROW SHARE", "RowExclusiveLock": "ROW EXCLUSIVE",
         "ShareUpdateExclusiveLock": "SHARE UPDATE EXCLUSIVE", "ShareLock": "SHARE",
         "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE", "ExclusiveLock": "EXCLUSIVE",
         "AccessExclusiveLock": "ACCESS EXCLUSIVE"}


def _held(conn: psycopg.Connection, existing: dict[int, str]) -> set[tuple[str, str]]:
    """The locks this session holds on relations that existed before the migration, named as they
    were then: read from pg_locks alone, so a relation the statement dropped still shows."""
    return {(MODES.get(str(mode), str(mode)), existing[oid]) for mode, oid in conn.execute(HELD).fetchall()
            if oid in existing}


def verdict(static: str, observed: set[tuple[str, str]]) -> str:
    """'agrees' when the strongest observed lock is the static one (or, for a statement the table
    says takes none on tables, at most ACCESS SHARE); else 'differs'."""
    strongest = max((STRENGTH.index(mode) for mode, _ in observed if mode in STRENGTH), default=-1)
    if static in STRENGTH:
        return "agrees" if strongest == STRENGTH.index(static) else "differs"
    if static.startswith("none"):
        return "agrees" if strongest <= 0 else "differs"
    return "agrees"  # 'not analysed', 'as written': the trace is the answer


def _order(observed: set[tuple[str, str]]) -> tuple[str, ...]:
    ranked = sorted(observed, key=lambda o: (-STRENGTH.index(o[0]) if o[0] in STRENGTH else 0, o[1]))
    return tuple(f"{mode} on {name}" for mode, name in ranked)


def not_replayable(migrations: Sequence[Migration], applied: set[str],
                   planned: list[PlannedMigration]) -> list[PlannedMigration] | None:
    """When an applied migration acts beyond its database (or runs SQL nobody can read), the
    scratch copy cannot be rebuilt without running it as your own role: ``planned`` with every
    statement marked not traced, and why. None: they can all be replayed."""
    from .reversible import beyond

    refused = [f for m in migrations if m.id in applied and (f := beyond(m, extensions=True)) is not None]
    if not refused:
        return None
    why = f"not traced: an applied migration is not replayed on a scratch copy ({refused[0].message})"
    return [replace(p, statements=tuple(replace(s, traced=why) for s in p.statements)) for p in planned]


def trace_on(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration], applied: set[str],
             planned: list[PlannedMigration], progress: Callable[[str], None] | None = None) -> list[PlannedMigration]:
    """``planned`` with what each statement was seen to take on ``conn``: an empty scratch database
    (``progress``: told each migration as its trace starts)."""
    from .reversible import DYNAMIC, powerless
    from .runner import apply_pending

    dynamic = powerless(conn)
    if applied:
        apply_pending(conn, settings, migrations, only=applied)
    by_id = {m.id: m for m in migrations}
    traced: list[PlannedMigration] = []
    stopped = ""
    for count, plan in enumerate(planned, 1):
        if progress is not None:
            progress(f"{count}/{len(planned)} {plan.id}")
        m = by_id[plan.id]
        lock_timeout, statement_timeout = timeouts(m, settings)  # as migrate would run it: a sleep is cut short
        conn.execute("SELECT pg_catalog.set_config('lock_timeout', %s, false), "
                     "pg_catalog.set_config('statement_timeout', %s, false)", (lock_timeout, statement_timeout))
        existing = {int(oid): str(name) for oid, name in conn.execute(EXISTING).fetchall()}
        statements: list[PlannedStatement] = []
        for planned_stmt, stmt in zip(plan.statements, m.statements):
            if stopped:
                statements.append(replace(planned_stmt, traced=stopped))
                continue
            refused = why_refused(stmt, m.transactional)
            reach = [r for r in stmt.reach if not (dynamic and r.startswith(DYNAMIC))]
            if refused or reach:  # what migrate refuses, or what would act beyond the scratch copy: not run
                why = refused.partition(" -- ")[0] if refused else f"it acts beyond its database: {'; '.join(reach)}"
                stopped = f"not traced: line {stmt.line} of {m.id} was not run ({why})"
                statements.append(replace(planned_stmt, traced=stopped))
                continue
            try:
                if not m.transactional:
                    conn.execute(stmt.sql.encode(), prepare=False)
                    statements.append(replace(planned_stmt, traced="not traced: it runs outside a transaction, so its "
                                              "locks are gone before anyone can look"))
                    continue
                with conn.transaction():  # each statement alone: a lock an earlier one holds would hide its own
                    conn.execute(stmt.sql.encode(), prepare=False)
                    taken = _held(conn, existing)
                judged = ONLY_NEW if not taken and planned_stmt.lock in STRENGTH else verdict(planned_stmt.lock, taken)
                statements.append(replace(planned_stmt, observed=_order(taken), traced=judged))
            except psycopg.Error as exc:
                stopped = f"not traced: line {stmt.line} of {m.id} failed on the scratch copy ({' '.join(str(exc).split())[:160]})"
                statements.append(replace(planned_stmt, traced=stopped))
        traced.append(replace(plan, statements=tuple(statements)))
    return traced
