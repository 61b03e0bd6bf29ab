"""One attempt at a story, decided by the harness: a fresh shadow database gets every migration,
the story's expectations, the invariants, its criteria and lint must hold there, and only then
do the pending migrations reach the target, which is verified again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from schema_tools import (Catalog, SchemaToolsError, Settings, connect_url, lint_files, migrate, read_catalog,
                          read_migrations, scratch_database, status, validate_history, verify_catalog)

from .criteria import FAILED, Verdict, judge
from .stories import Story


@dataclass
class Outcome:
    findings: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    checks: int = 0
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.findings


def read_target(settings: Settings) -> tuple[Catalog, set[str]]:
    """The target's catalog and the ids of its applied migrations."""
    with connect_url(settings.database_url or "", application_name="ralph") as conn:
        catalog = read_catalog(conn, settings.schemas)
    applied = {s.id for s in status(settings) if s.state in ("applied", "missing")}
    return catalog, applied


def story_problems(story: Story, catalog: Catalog, applied: set[str]) -> list[str]:
    """Why the target does not hold the story (empty: it does)."""
    problems = [f"migration {m} is not applied" for m in story.migrations if m not in applied]
    report = verify_catalog(catalog, list(story.expectations), invariants=False)
    return problems + [f"verify: {f.message}" for f in report.errors]


def _lint_findings(settings: Settings, story: Story) -> list[str]:
    paths = [settings.migrations_dir / f"{m}.sql" for m in story.migrations]
    report = lint_files(settings, [p for p in paths if p.exists()])
    return [f"lint: {f.file and f.file.rsplit('/', 1)[-1]}:{f.line}: {f.rule}: {f.message}" for f in report.errors]


def _shadow(settings: Settings, story: Story, only: set[str], outcome: Outcome) -> None:
    started = time.monotonic()
    with scratch_database(settings) as url:
        shadow = settings.with_database(url)
        try:
            migrate(shadow, only=only)
            applied_cleanly = True
        except SchemaToolsError as exc:
            outcome.findings.append(f"migrate (shadow): {exc.one_line()}")
            applied_cleanly = False
        with connect_url(url, application_name="ralph shadow") as conn:
            catalog = read_catalog(conn, settings.schemas)
    report = verify_catalog(catalog, list(story.expectations), settings.disabled_invariants)
    outcome.checks = len(report.checks)
    outcome.findings += [f"verify: {f.message}" for f in report.errors]
    outcome.verdicts = judge(story.criteria, catalog, applied_cleanly)
    outcome.findings += [f"criterion: {v.criterion} -- {v.detail}" for v in outcome.verdicts if v.status == FAILED]
    outcome.durations["shadow"] = round(time.monotonic() - started, 3)


def attempt(settings: Settings, story: Story, owned_by_open_stories: set[str]) -> Outcome:
    """Shadow first; the target only when everything held there. Migrations that other stories
    still working own are left out of both (they are those stories' business)."""
    outcome = Outcome()
    try:
        migrations = {m.id for m in read_migrations(settings.migrations_dir)}
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrations: {exc.one_line()}")
        return outcome
    only = (migrations - owned_by_open_stories) | set(story.migrations)
    outcome.findings += [f"migration {m}.sql is missing from {settings.migrations_dir.name}/"
                         for m in story.migrations if m not in migrations]
    if outcome.findings:
        return outcome
    outcome.findings += [f"validate (target): {f.message}" for f in validate_history(settings).errors]
    if outcome.findings:
        return outcome
    _shadow(settings, story, only, outcome)
    outcome.findings += _lint_findings(settings, story)
    if outcome.findings:
        return outcome
    started = time.monotonic()
    try:
        migrate(settings, only=only)
    except SchemaToolsError as exc:
        outcome.findings.append(f"migrate (target): {exc.one_line()}")
        return outcome
    catalog, applied = read_target(settings)
    outcome.findings += [f"target: {p}" for p in story_problems(story, catalog, applied)]
    outcome.durations["target"] = round(time.monotonic() - started, 3)
    return outcome
