"""``check-reversible``: on scratch databases, prove each rollback undoes its migration.

Step mode (the default): for each migration, apply it, roll it back, compare every object with
the state before, apply it again and compare with the state after the first apply. A broken
round trip does not end the check: the scratch state is rebuilt by applying forward, and the
next migration is checked. Chain mode (``--chain``): apply all, roll all back in reverse
(each rollback must restore the state before its migration), apply all again.

A migration that declares itself irreversible (``-- irreversible: why`` in its header) is
reported as skipped with its reason, never as passed; an empty or comment-only rollback file is
a rollback that does nothing, checked like any other. Constants the clock folded into a
definition (``'now'`` in a view) are not a difference (``schema_state``).
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg

from ..catalog.inventory import Inventory, folded, inventory
from ..config import Settings
from ..errors import MigrationError
from ..findings import Check, Finding, Report
from ..migration_files.model import Migration
from ..sql.clock import without_clock
from . import history
from .execute import Work, on_connection, run_migration

RULE_HELP = {
    "apply-fails": "the migration does not apply on a database holding the migrations before it",
    "no-rollback": "the migration has no rollback file (declare it irreversible if it is)",
    "rollback-fails": "the rollback file fails",
    "rollback-residue": "after the rollback the schema differs from the schema before the migration",
    "reapply-differs": "applying again after the rollback fails or gives a different schema",
    "beyond-database": "the migration or its rollback acts beyond its database: not run on a scratch copy",
}
STEP, ROLL_BACK, APPLY_AGAIN = "round trip", "chain: roll back", "chain: apply again"
DETAIL_LINES = 10

Fresh = Callable[[], psycopg.Connection]
Tell = Callable[[str], None]  # where a long check says how far it is (a terminal's status line)


def _quiet(_: str) -> None:
    return None
"""Opens a new empty scratch database (dropping the one opened before) and connects to it."""


def schema_state(conn: psycopg.Connection) -> Inventory:
    """Every object of the scratch database, with the constants the clock folded into them in the
    last day or so written ``'<clock>'``: a view that holds ``'now'`` is the same view when it is
    created again a moment later from the same text. The login's name in grants is ``<owner>``:
    a state read on a rebuilt scratch database (another login) compares with one read before."""
    today = date.today()
    since, until = today - timedelta(days=1), today + timedelta(days=1)
    objects = folded(inventory(conn), {conn.info.user})  # each scratch database has its own login: its name folded
    return {key: without_clock(definition, since, until) for key, definition in objects.items()}


def differences(before: Inventory, after: Inventory) -> tuple[str, tuple[str, ...]]:
    """What changed from ``before`` to ``after``: a summary, and a few lines naming the objects
    (a changed definition as the lines of it that differ, not the whole definition)."""
    left = _with_parts(sorted(after.keys() - before.keys()), after)
    lost = _with_parts(sorted(before.keys() - after.keys()), before)
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    lines: list[str] = [f"left behind: {k}{_parts(n)}" for k, n in left] + [f"not restored: {k}{_parts(n)}" for k, n in lost]
    for key in changed:
        lines.append(f"differs: {key}")
        diff = difflib.unified_diff(before[key].splitlines(), after[key].splitlines(), n=0, lineterm="")
        lines += [f"  {line[:160]}" for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")][:4]
    if len(lines) > DETAIL_LINES:
        lines = lines[:DETAIL_LINES - 1] + [f"... and {len(lines) - DETAIL_LINES + 1} more lines"]
    counts = ((len(left), "left behind"), (len(lost), "not restored"), (len(changed), "changed"))
    return ", ".join(f"{n} {what}" for n, what in counts if n), tuple(lines)


def _with_parts(keys: list[str], objects: Inventory) -> list[tuple[str, int]]:
    """``keys``, the parts of a relation among them (its columns, constraints, indexes, comments,
    triggers, rules) folded into it: (key, how many parts)."""
    relations = [k[len("relation "):] for k in keys if k.startswith("relation ")]
    owner: dict[str, str] = {}
    for key in keys:
        for r in relations:
            if (key.startswith((f"column {r}.", f"constraint {r} ", f"trigger {r}.", f"rule {r}."))
                    or key in (f"comment on {r}",) or key.startswith(f"comment on {r}.")
                    or (key.startswith("relation ") and (f" ON {r} USING " in objects[key]
                                                         or f" owned-by={r};" in objects[key]))):
                owner[key] = f"relation {r}"
                break
    return [(k, sum(1 for o in owner.values() if o == k)) for k in keys if k not in owner]


def _parts(count: int) -> str:
    return f" (and {count} of its columns, constraints, indexes...)" if count else ""


def _error(rule: str, m: Migration, exc: MigrationError, file: str) -> Finding:
    return Finding(rule, exc.message, object=m.id, hint=exc.hint, file=file, line=exc.line)


@dataclass
class _Trip:
    """One migration's round trip: its check, and whether the scratch state is still exactly
    'everything up to it applied' (else it is rebuilt before the next one)."""

    check: Check
    settled: bool = True
    applied: bool = True
    state: Inventory | None = None  # the schema after the trip, when it was read


DYNAMIC = "runs dynamic SQL"
_WORK: weakref.WeakKeyDictionary[psycopg.Connection, Work] = weakref.WeakKeyDictionary()
_POWERLESS: weakref.WeakKeyDictionary[psycopg.Connection, bool] = weakref.WeakKeyDictionary()


def _work(conn: psycopg.Connection) -> Work:
    """The scratch connection as the runner's work, found once per connection (hundreds of
    migrations run on it: where the bookkeeping is and what the session is do not change)."""
    if conn not in _WORK:
        _WORK[conn] = on_connection(conn)
    return _WORK[conn]


def _powerless(conn: psycopg.Connection) -> bool:
    if conn not in _POWERLESS:
        _POWERLESS[conn] = powerless(conn)
    return _POWERLESS[conn]


def powerless(conn: psycopg.Connection) -> bool:
    """The connection's role holds no power beyond the objects it owns (the scratch login)."""
    row = conn.execute("SELECT NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls) "
                       "FROM pg_catalog.pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


EXTENSION = "creates extension"


def beyond(m: Migration, dynamic: bool = False, extensions: bool = False) -> Finding | None:
    """A statement of the migration or its rollback that acts beyond its database (another
    database, roles, the server's settings, files, programs, replication slots): such a migration
    is not run on a scratch copy, and says so. Dynamic SQL cannot be read: it may run only where
    the login's own rights are the limit (``dynamic``: a powerless login). ``extensions``: creating
    an extension a database owner may not create is allowed (your own role replays it)."""
    for path, statements in ((m.path, m.statements), (m.rollback_path, m.rollback_statements)):
        for stmt in statements:
            reach = [r for r in stmt.reach
                     if not (dynamic and r.startswith(DYNAMIC)) and not (extensions and r.startswith(EXTENSION))]
            if reach:
                return Finding("beyond-database", f"{path.name}:{stmt.line} acts beyond its database "
                               f"({'; '.join(reach)}): not run on a scratch copy", object=m.id,
                               file=str(path), line=stmt.line,
                               hint="keep migrations inside their database; do the rest by hand, outside migrations")
    return None


def _round_trip(conn: psycopg.Connection, m: Migration, settings: Settings, before: Inventory) -> _Trip:
    refused = beyond(m, dynamic=_powerless(conn))
    if refused is not None:
        return _Trip(Check(m.id, STEP, (refused,)), settled=False, applied=False)
    try:
        run_migration(_work(conn), m, settings)
    except MigrationError as exc:
        return _Trip(Check(m.id, STEP, (_error("apply-fails", m, exc, str(m.path)),)), settled=False, applied=False)
    reason = m.irreversible
    if reason:
        return _Trip(Check(m.id, STEP, skipped=reason))
    if m.rollback_text is None:
        return _Trip(Check(m.id, STEP, (Finding(
            "no-rollback", f"{m.id} has no rollback file", object=m.id, file=str(m.path), line=1,
            hint=f"write {m.rollback_path.name}, or add '-- irreversible: <why>' to the header of {m.path.name}"),)))
    applied = schema_state(conn)
    try:
        run_migration(_work(conn), m, settings, rollback=True)
    except MigrationError as exc:  # a transactional rollback left nothing: the state is still 'applied'
        return _Trip(Check(m.id, STEP, (_error("rollback-fails", m, exc, str(m.rollback_path)),)),
                     settled=m.transactional)
    findings: list[Finding] = []
    after = schema_state(conn)
    if after != before:
        summary, detail = differences(before, after)
        findings.append(Finding("rollback-residue", f"rolling back {m.id} does not restore the schema ({summary})",
                                object=m.id, hint=f"make {m.rollback_path.name} undo exactly what {m.path.name} does",
                                file=str(m.rollback_path), line=1, detail=detail))
    try:
        run_migration(_work(conn), m, settings)
    except MigrationError as exc:
        findings.append(Finding("reapply-differs", f"{m.id} fails when applied again after its rollback: {exc.message}",
                                object=m.id, hint=exc.hint, file=str(m.path), line=exc.line))
        return _Trip(Check(m.id, STEP, tuple(findings)), settled=False)
    again = schema_state(conn)
    if again != applied:
        summary, detail = differences(applied, again)
        findings.append(Finding("reapply-differs", f"{m.id} applied again after its rollback gives a different "
                                f"schema ({summary}, compared with its first apply)", object=m.id, file=str(m.path),
                                line=1, hint="the rollback leaves something that changes the next apply", detail=detail))
    return _Trip(Check(m.id, STEP, tuple(findings)), settled=not findings, state=again)


def prepare_scratch(conn: psycopg.Connection) -> psycopg.Connection:
    history.ensure_tables(conn, history.locate(conn, writing=True))
    conn.execute("ANALYZE")  # a new database's catalog has no statistics: the inventory query is 8x slower
    return conn


def _rebuild(fresh: Fresh, settings: Settings, migrations: Sequence[Migration], through: Migration) -> psycopg.Connection:
    """A new scratch database holding every migration up to ``through``, applied forward."""
    from .runner import apply_pending

    conn = prepare_scratch(fresh())
    apply_pending(conn, settings, migrations, to=through.id)
    return conn


def check_steps(fresh: Fresh, settings: Settings, migrations: Sequence[Migration], progress: Tell = _quiet) -> Report:
    """Step mode: every migration's round trip, each on the exact state its predecessors leave."""
    checks: list[Check] = []
    conn = prepare_scratch(fresh())
    blocked, state = "", None
    for index, m in enumerate(migrations):
        progress(f"{index + 1}/{len(migrations)} {m.id}")
        if blocked:
            checks.append(Check(m.id, STEP, skipped=blocked))
            continue
        trip = _round_trip(conn, m, settings, schema_state(conn) if state is None else state)
        checks.append(trip.check)
        state = trip.state
        if not trip.applied:
            blocked = f"{m.id} before them does not apply"
        elif not trip.settled and index + 1 < len(migrations):
            state = None
            try:
                conn = _rebuild(fresh, settings, migrations, m)
            except MigrationError as exc:
                blocked = f"applying forward through {m.id} again failed: {exc.one_line()}"
    return Report("check-reversible", tuple(checks), RULE_HELP, per_check=True)


def check_chain(fresh: Fresh, settings: Settings, migrations: Sequence[Migration], progress: Tell = _quiet) -> Report:
    """Chain mode: apply all; roll back all in reverse, each rollback compared with the state
    before its migration; apply all again, each compared with the first apply. A break (a
    rollback that fails or leaves residue, a migration declared irreversible or without a
    rollback) does not end a pass: the scratch state is rebuilt by applying forward to where the
    pass stands, and it goes on, so every break is reported."""
    conn = prepare_scratch(fresh())
    states = [schema_state(conn)]
    for count, m in enumerate(migrations, 1):
        progress(f"apply {count}/{len(migrations)} {m.id}")
        refused = beyond(m, dynamic=_powerless(conn))
        if refused is not None:
            checks = [Check(m.id, ROLL_BACK, (refused,))]
            checks += [Check(later.id, ROLL_BACK, skipped=f"{m.id} before it was not run")
                       for later in migrations[len(states):]]
            return Report("check-reversible", tuple(checks), RULE_HELP, per_check=True)
        try:
            run_migration(_work(conn), m, settings)
        except MigrationError as exc:
            checks = [Check(m.id, ROLL_BACK, (_error("apply-fails", m, exc, str(m.path)),))]
            checks += [Check(later.id, ROLL_BACK, skipped=f"{m.id} before it does not apply")
                       for later in migrations[len(states):]]
            return Report("check-reversible", tuple(checks), RULE_HELP, per_check=True)
        states.append(schema_state(conn))
    down: list[Check] = []
    live: psycopg.Connection | None = conn  # None: the scratch state is not what the pass needs: rebuilt first
    for index in reversed(range(len(migrations))):
        m = migrations[index]
        progress(f"roll back {len(migrations) - index}/{len(migrations)} {m.id}")
        if live is None:
            live, blocked = _rebuilt(fresh, settings, migrations, index + 1)
            if live is None:
                down += [Check(m.id, ROLL_BACK, skipped=blocked) for m in reversed(migrations[:index + 1])]
                break
        stop = m.irreversible or ("" if m.rollback_text is not None else f"{m.id} has no rollback file")
        if stop:
            down.append(Check(m.id, ROLL_BACK, skipped=f"not rolled back: {stop}"))
            live = None
            continue
        try:
            run_migration(_work(live), m, settings, rollback=True)
        except MigrationError as exc:
            down.append(Check(m.id, ROLL_BACK, (_error("rollback-fails", m, exc, str(m.rollback_path)),)))
            live = None
            continue
        now = schema_state(live)
        if now != states[index]:
            summary, detail = differences(states[index], now)
            down.append(Check(m.id, ROLL_BACK, (Finding(
                "rollback-residue", f"the chain breaks at {m.id}: rolling it back (after every later one) does not "
                f"restore the schema before it ({summary})", object=m.id, file=str(m.rollback_path), line=1,
                hint=f"make {m.rollback_path.name} undo exactly what {m.path.name} does", detail=detail),)))
            live = None
            continue
        down.append(Check(m.id, ROLL_BACK))
    up: list[Check] = []
    for index, m in enumerate(migrations):
        progress(f"apply again {index + 1}/{len(migrations)} {m.id}")
        if live is None:
            live, blocked = _rebuilt(fresh, settings, migrations, index)
            if live is None:
                up += [Check(later.id, APPLY_AGAIN, skipped=blocked) for later in migrations[index:]]
                break
        try:
            run_migration(_work(live), m, settings)
        except MigrationError as exc:
            up.append(Check(m.id, APPLY_AGAIN, (Finding(
                "reapply-differs", f"{m.id} fails when applied again after the chain was rolled back: {exc.message}",
                object=m.id, hint=exc.hint, file=str(m.path), line=exc.line),)))
            live = None
            continue
        now = schema_state(live)
        if now != states[index + 1]:
            summary, detail = differences(states[index + 1], now)
            up.append(Check(m.id, APPLY_AGAIN, (Finding(
                "reapply-differs", f"{m.id} applied again after the chain was rolled back gives a different schema "
                f"({summary}, compared with its first apply)", object=m.id, file=str(m.path), line=1,
                hint="a rollback below it leaves something that changes this apply", detail=detail),)))
            live = None
            continue
        up.append(Check(m.id, APPLY_AGAIN))
    return Report("check-reversible", tuple(down + up), RULE_HELP, per_check=True)


def _rebuilt(fresh: Fresh, settings: Settings, migrations: Sequence[Migration],
             count: int) -> tuple[psycopg.Connection | None, str]:
    """A new scratch database holding the first ``count`` migrations, applied forward (past a
    break, the chain goes on from there); None and why when they do not apply."""
    try:
        if count == 0:
            return prepare_scratch(fresh()), ""
        return _rebuild(fresh, settings, migrations, migrations[count - 1]), ""
    except MigrationError as exc:
        return None, f"not checked: applying forward through {migrations[count - 1].id} again failed: {exc.one_line()}"


def round_trips(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration]) -> list[Check]:
    """The step round trip of each of ``migrations``, in order, on ``conn`` (which holds what
    comes before them); stops at the first that does not apply."""
    checks: list[Check] = []
    state = None
    for m in migrations:
        trip = _round_trip(conn, m, settings, schema_state(conn) if state is None else state)
        checks.append(trip.check)
        if not trip.applied or not trip.settled:
            break
        state = trip.state
    return checks
