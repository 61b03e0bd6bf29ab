"""One attempt at a story, decided by the harness: a fresh shadow database gets every migration;
the story's expectations, the invariants, its criteria and lint must hold there, and every story
that passes on the target must still pass (no regression). Only then do the pending migrations
reach the target, verified in the same transaction (or undone with their rollback files), so the
target ends as it was or verified."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from schema_tools import (Migration, SchemaToolsError, Settings, VerificationFailed, connect, lint, migrate,
                          read_migrations, verify_catalog)
from schema_tools.harness import (migrate_on, preflight_on, rollback_on, schema_differences, schema_inventory_on,
                                  scratch_login, validate_on)

from .allowlist import CatalogServer, allowlist_findings
from .criteria import FAILED, Verdict, judge
from .data_guard import Snapshot, data_lost
from .promotion import (Before, before_promotion, drop_what_is_new, judge_on_target, pinned_inventory,
                        undo_guard)
from .scope import out_of_scope
from .stories import Story
from .target import Target, TargetState, read_state

if TYPE_CHECKING:
    import psycopg


@dataclass
class Outcome:
    findings: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    checks: int = 0
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.findings


def story_problems(story: Story, state: TargetState) -> list[str]:
    """Why a database does not hold the story (empty: it does)."""
    problems = [f"migration {m} is not applied" for m in story.migrations if m not in state.applied]
    report = verify_catalog(state.catalog, story.checked, invariants=False)
    return problems + [f"verify: {f.message}" for f in report.errors]


def regressions(passing: Sequence[Story], state: TargetState) -> list[str]:
    """Stories that held before and no longer do on ``state``."""
    return [f"regression: {s.id} no longer holds: {problem}" for s in passing for problem in story_problems(s, state)]


def _lint_findings(settings: Settings, pending: set[str]) -> list[str]:
    """Lint every migration about to be applied (the story's and any new one it brings). The
    files' own ``-- schema-tools: ignore`` comments count for nothing: their author is the agent."""
    paths = [p for p in (settings.migrations_dir / f"{m}.sql" for m in sorted(pending)) if p.exists()]
    if not paths:
        return []
    report = lint(settings, paths, use_cache=False, inline_ignores=False)  # the cache folder is not ours alone
    return [f"lint: {f.file and f.file.rsplit('/', 1)[-1]}:{f.line}: {f.rule}: {f.message}" for f in report.errors]


def reach_findings(migrations: Sequence[Migration], pending: set[str]) -> list[str]:
    """What the pending migrations (rollbacks included) could do outside their database: run a
    program or touch files on the server, manage roles, hide statements in dynamic SQL... Found
    from the text before any of it runs, in the shadow or on the target (where a statement that
    checks where it runs would do what the shadow never saw)."""
    found = []
    for m in migrations:
        if m.id not in pending:
            continue
        for path, statements in ((m.path, m.statements), (m.rollback_path, m.rollback_statements)):
            for stmt in statements:
                found += [f"server reach: {path.name}:{stmt.line}: {what}; the harness runs agent-written SQL only "
                          "when it stays inside its database" for what in stmt.reach]
    return found


def undone_by_files(pending: Sequence[Migration]) -> bool:
    """True when the promotion cannot run in one transaction: on failure its rollback files undo it."""
    return not all(m.transactional for m in pending)


def unguarded_undo_findings(pending: Sequence[Migration]) -> list[str]:
    """A promotion undone with the rollback files runs them statement by statement, each committed
    as it runs, where the data guard cannot hold it back: those files may change the schema only
    (the shadow proves they restore it), never rows."""
    if not undone_by_files(pending):
        return []
    return [f"rollback (unguarded): {m.rollback_path.name}:{stmt.line}: {what} in a rollback file of a promotion that "
            "cannot run in one transaction (it would run on the target outside the data guard): rollback files there "
            "may only change the schema" for m in pending for stmt in m.rollback_statements
            if (what := stmt.changes_rows)]


def _not_restored(target: Target, inventory: dict[str, str], data: Snapshot) -> list[str]:
    """After rollback files undid a promotion on the target: what differs from before it (schema
    and rows). A rollback file proven in the shadow may still meet what only the target has."""
    found = []
    after = pinned_inventory(target.conn)  # as the inventory before was read
    if after != inventory:
        found.append(f"the rollback files did not restore the schema ({_difference(inventory, after)})")
    return found + data_lost(target.conn, data, read_state(target.conn, target.settings).catalog)


def _partial_undone(target: Target, found: Before, pending: set[str]) -> list[str]:
    """A promotion that cannot run in one transaction failed part-way on the target: what its
    committed statements made (new objects only: no earlier row goes with them) is dropped, as the
    owner login, so the next attempt starts from the target as it was, not from "already exists"."""
    if read_state(target.conn, target.settings).applied & pending:
        return ["target: a pending migration is still recorded after the failure: the target could NOT be restored "
                "(roll it back with schema-tools rollback)"]
    with connect(target.promotion, "ralph undo") as conn:
        dropped = drop_what_is_new(conn, found.objects)
    left = pinned_inventory(target.conn)
    if left != found.inventory:
        return [f"target: the failed migration left what the harness cannot undo ({_difference(found.inventory, left)}): "
                "the target could NOT be restored"]
    return [f"target: the failed migration had committed {', '.join(dropped[:5])}{', ...' if len(dropped) > 5 else ''}; "
            "dropped: the target is as it was" if dropped else "target: nothing was committed: the target is as it was"]


def _preflight_findings(target: Target, pending: set[str]) -> list[str]:
    """Rows on the target that would make a pending migration's new constraint fail (its UNIQUE,
    NOT NULL, FOREIGN KEY or CHECK, VALIDATE included): found before anything is applied there."""
    report = preflight_on(target.conn, target.settings)
    return [f"preflight (target): {f.message} -- {f.hint}" for f in report.errors
            if f.message.split(":", 1)[0] in pending]


def _privileges_note(error: str) -> str:
    if "permission denied" not in error and "must be owner" not in error:
        return ""
    return (" (the shadow runs agent-written migrations as a role without superuser, CREATEDB or CREATEROLE: what "
            "needs more, such as an extension only a superuser may create, a person applies first)")


def _undo_findings(conn: psycopg.Connection, shadow: Settings, pending: Sequence[Migration],
                   before: dict[str, str]) -> list[str]:
    """The pending migrations' rollback files, run in the shadow (the last first), must bring its
    schema back to what it was before them: the harness runs them on the target to undo a
    promotion that could not run in one transaction. Declared irreversible ones are not run."""
    if not pending or any(m.irreversible for m in pending):
        return []
    try:
        files = read_migrations(shadow)
        for m in reversed(pending):  # exactly these (rollback's "last" is the last in the list it is given)
            rollback_on(conn, shadow, confirm=lambda losses: True,  # the shadow's rows are nobody's
                        migrations=[f for f in files if f.id != m.id] + [f for f in files if f.id == m.id])
    except SchemaToolsError as exc:
        return [f"rollback (shadow): {exc.one_line()}"]
    after = schema_inventory_on(conn)
    if after == before:
        return []
    return [f"rollback (shadow): rolling back the pending migrations does not restore the schema "
            f"({_difference(before, after)})"]


def _difference(before: dict[str, str], after: dict[str, str]) -> str:
    """Two schema inventories' difference, in a line: its summary and its first three details."""
    summary, detail = schema_differences(before, after)
    return f"{summary}: {'; '.join(line.strip() for line in detail[:3])}"


def _shadow(target: Target, story: Story, passing: Sequence[Story], only: set[str], applied: set[str],
            pending: Sequence[Migration], outcome: Outcome) -> None:
    """Build the shadow: what the target ran already (``applied``) through the harness's role,
    then the rest -- agent-written SQL -- through a login without superuser, CREATEROLE or
    CREATEDB that owns everything there: whatever that SQL tries beyond its own database fails."""
    started = time.monotonic()
    settings = target.settings
    state = None
    try:
        server, admin = target.scratch_server
        with scratch_login(server, admin, trusted=only & applied) as login:
            shadow = settings.with_database(login.url)
            with connect(shadow, "ralph shadow") as conn:
                objects = schema_inventory_on(conn)
                try:
                    migrate_on(conn, shadow, only=only)
                    applied_cleanly = True
                    outcome.findings += out_of_scope(objects, schema_inventory_on(conn), story.id, story.tables)
                except SchemaToolsError as exc:
                    outcome.findings.append(f"migrate (shadow): {exc.one_line()}{_privileges_note(exc.one_line())}")
                    applied_cleanly = False
                state = read_state(conn, shadow)
                if applied_cleanly:
                    outcome.findings += _undo_findings(conn, shadow, pending, objects)
    except SchemaToolsError as exc:  # the shadow could not be made, or the target's applied migrations failed there
        outcome.findings.append(f"shadow: {exc.one_line()}")
    if state is None:
        return
    report = verify_catalog(state.catalog, story.checked, disabled=settings.disabled_invariants)
    outcome.checks = len(report.checks)
    outcome.findings += [f"verify: {f.message}" for f in report.errors]
    outcome.findings += regressions(passing, state)
    outcome.verdicts = judge(story.criteria, state.catalog, applied_cleanly, story.expectations)
    said = {f.message for f in report.errors}  # a criterion that failed for a reason verify gave already: said once
    outcome.findings += [f"criterion: {v.criterion} -- {v.detail}" for v in outcome.verdicts
                         if v.status == FAILED and v.detail not in said]
    outcome.findings[:] = list(dict.fromkeys(outcome.findings))
    outcome.durations["shadow"] = round(time.monotonic() - started, 3)


def attempt(target: Target, story: Story, owned_by_open_stories: set[str], before: TargetState,
            passing: Sequence[Story] = ()) -> tuple[Outcome, TargetState | None]:
    """Shadow first; the target only when everything held there. Migrations that other stories
    still working own are left out of both (they are those stories' business). ``before``: the
    target as the iteration found it. ``passing``:
    the stories that hold on the target now, which must keep holding. Returns the target as
    read after a promotion (None when nothing reached it)."""
    settings = target.settings
    outcome = Outcome()
    try:
        files = read_migrations(settings)
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrations: {exc.one_line()}")
        return outcome, None
    migrations = {m.id for m in files}
    only = (migrations - owned_by_open_stories) | set(story.migrations)
    outcome.findings += [f"migration {m}.sql is missing from {settings.migrations_dir.name}/"
                         for m in story.migrations if m not in migrations]
    if outcome.findings:
        return outcome, None
    outcome.findings += [f"validate (target): {f.message}" for f in validate_on(target.conn, settings).errors]
    pending = [m for m in files if m.id in only and m.id not in before.applied]
    pending_ids = {m.id for m in pending}
    outcome.findings += reach_findings(files, pending_ids) + unguarded_undo_findings(pending)
    outcome.findings += allowlist_findings(story, settings, pending,
                                           CatalogServer(target.conn))
    if outcome.findings:
        return outcome, None
    _shadow(target, story, passing, only, set(before.applied), pending, outcome)
    outcome.findings += _lint_findings(settings, pending_ids)
    if outcome.findings:
        return outcome, None
    outcome.findings += _preflight_findings(target, pending_ids)
    if outcome.findings:
        return outcome, None
    started = time.monotonic()
    try:
        promoted = target.promotion  # the harness's new objects handed to the owner login first, before the mark
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrate (target): {exc.one_line()}")
        return outcome, None
    found = before_promotion(target.conn, before, settings)
    data, inventory = found.data, (found.inventory if undone_by_files(pending) else {})
    holds = judge_on_target(story, settings, found, before.applied | pending_ids,
                            lambda state: story_problems(story, state) + regressions(passing, state))
    try:
        migrate(promoted, only=only, verify=holds,  # as the owner login, on a session of its own
                undo_check=undo_guard(settings, found, story))
    except VerificationFailed as failed:
        left = _not_restored(target, inventory, data) if failed.restored and inventory else []
        where = "the target is as it was" if failed.restored and not left else "the target could NOT be restored"
        outcome.findings += [f"target: {p}" for p in failed.problems + left]
        outcome.findings.append(f"target: the story did not hold after promotion; {where} ({failed.hint})")
        return outcome, None
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrate (target): {exc.one_line()}")
        if undone_by_files(pending):
            outcome.findings += _partial_undone(target, found, pending_ids)
        return outcome, None
    outcome.durations["target"] = round(time.monotonic() - started, 3)
    return outcome, target.read()
