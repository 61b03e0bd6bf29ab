"""One attempt at a story, decided by the harness: a fresh shadow database gets every migration,
the story's expectations, the invariants, its criteria and lint must hold there, and only then
do the pending migrations reach the target, which is verified again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from schema_tools import (SchemaToolsError, Settings, connect, lint, migrate, migrate_on, read_migrations,
                          read_schema_on, scratch_database, validate_on, verify_catalog)

from .criteria import FAILED, Verdict, judge
from .stories import Story
from .target import Target, TargetState


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
    """Why the target does not hold the story (empty: it does)."""
    problems = [f"migration {m} is not applied" for m in story.migrations if m not in state.applied]
    report = verify_catalog(state.catalog, story.checked, invariants=False)
    return problems + [f"verify: {f.message}" for f in report.errors]


def _lint_findings(settings: Settings, story: Story) -> list[str]:
    paths = [settings.migrations_dir / f"{m}.sql" for m in story.migrations]
    report = lint(settings, [p for p in paths if p.exists()])
    return [f"lint: {f.file and f.file.rsplit('/', 1)[-1]}:{f.line}: {f.rule}: {f.message}" for f in report.errors]


def _shadow(target: Target, story: Story, only: set[str], outcome: Outcome) -> None:
    started = time.monotonic()
    settings = target.settings
    with scratch_database(settings, admin=target.conn) as url:
        shadow = settings.with_database(url)
        with connect(shadow, "ralph shadow") as conn:
            try:
                migrate_on(conn, shadow, only=only)
                applied_cleanly = True
            except SchemaToolsError as exc:
                outcome.findings.append(f"migrate (shadow): {exc.one_line()}")
                applied_cleanly = False
            catalog = read_schema_on(conn, shadow)
    report = verify_catalog(catalog, story.checked, disabled=settings.disabled_invariants)
    outcome.checks = len(report.checks)
    outcome.findings += [f"verify: {f.message}" for f in report.errors]
    outcome.verdicts = judge(story.criteria, catalog, applied_cleanly)
    outcome.findings += [f"criterion: {v.criterion} -- {v.detail}" for v in outcome.verdicts if v.status == FAILED]
    outcome.durations["shadow"] = round(time.monotonic() - started, 3)


def attempt(target: Target, story: Story, owned_by_open_stories: set[str]) -> tuple[Outcome, TargetState | None]:
    """Shadow first; the target only when everything held there. Migrations that other stories
    still working own are left out of both (they are those stories' business). Returns the
    target as read after a promotion (None when nothing reached it)."""
    settings = target.settings
    outcome = Outcome()
    try:
        migrations = {m.id for m in read_migrations(settings)}
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrations: {exc.one_line()}")
        return outcome, None
    only = (migrations - owned_by_open_stories) | set(story.migrations)
    outcome.findings += [f"migration {m}.sql is missing from {settings.migrations_dir.name}/"
                         for m in story.migrations if m not in migrations]
    if outcome.findings:
        return outcome, None
    outcome.findings += [f"validate (target): {f.message}" for f in validate_on(target.conn, settings).errors]
    if outcome.findings:
        return outcome, None
    _shadow(target, story, only, outcome)
    outcome.findings += _lint_findings(settings, story)
    if outcome.findings:
        return outcome, None
    started = time.monotonic()
    try:
        migrate(settings, only=only)  # its own session: nothing a migration sets stays on the run's connection
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrate (target): {exc.one_line()}")
        return outcome, None
    state = target.read()
    outcome.findings += [f"target: {p}" for p in story_problems(story, state)]
    outcome.durations["target"] = round(time.monotonic() - started, 3)
    return outcome, state
