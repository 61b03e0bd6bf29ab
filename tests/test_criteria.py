"""Story criteria: the checkable ones become expectations checked by verify; the rest are
unverified, never passed. Pure: the catalog is the one the migration files declare."""

from __future__ import annotations

from dataclasses import replace

from conftest import MIGRATIONS, ROOT
from ralph.harness.criteria import FAILED, UNVERIFIED, VERIFIED, expectation_of, judge
from ralph.harness.stories import load_stories
from schema_tools import Catalog, declared_schema, load_settings, read_migrations


def _declared() -> Catalog:
    return declared_schema(read_migrations(load_settings(migrations=MIGRATIONS, cwd=ROOT)))


def test_every_checkable_criterion_of_the_stories_holds_on_the_declared_schema() -> None:
    catalog = _declared()
    for story in load_stories(ROOT / "ralph" / "stories.toml"):
        verdicts = {v.criterion: v for v in judge(story.criteria, catalog, applied_cleanly=True)}
        unverified = [c for c, v in verdicts.items() if v.status == UNVERIFIED]
        assert unverified == (["Proper indexes on all frequently queried columns"] if story.id == "SCHEMA-001" else [])
        assert all(v.status == VERIFIED for c, v in verdicts.items() if c not in unverified), verdicts


def test_a_broken_schema_fails_the_criteria_with_verify_s_messages() -> None:
    catalog = _declared()
    sessions = catalog.tables["sessions"]
    api_keys = catalog.tables["api_keys"]
    broken = Catalog({**catalog.tables,
                      "sessions": replace(sessions, uniques=(), indexes=tuple(i for i in sessions.indexes if not i.unique)),
                      "api_keys": replace(api_keys, checks=(), columns=tuple(
                          replace(c, type="text") if c.name == "scopes" else c for c in api_keys.columns))})
    verdicts = {v.criterion.split(":")[0]: v for v in judge((
        "sessions: id, user_id, UNIQUE(user_id, tenant_id, service)",
        "api_keys: scopes (JSON), quota_period (hour/day/month)",
        "Indexes on: tenant_id, nope for usage_events",
        "Migration runs without errors locally"), broken, applied_cleanly=False)}
    assert verdicts["sessions"].status == FAILED
    assert verdicts["sessions"].detail == "nothing makes (user_id, tenant_id, service) unique on sessions"
    assert verdicts["api_keys"].status == FAILED
    assert "column api_keys.scopes is text, expected json or jsonb" in verdicts["api_keys"].detail
    assert "no CHECK restricts api_keys.quota_period to a set of values" in verdicts["api_keys"].detail
    assert verdicts["Indexes on"].detail == "no valid index on usage_events leads with (nope)"
    assert verdicts["Migration runs without errors locally"].status == FAILED


def test_a_missing_table_is_one_failure_not_one_per_column() -> None:
    verdict = judge(("ghosts: id, name, kind (a/b)",), Catalog({}), True)[0]
    assert verdict.status == FAILED and verdict.detail == "table ghosts does not exist"


def test_wordings_it_cannot_read_are_unverified_never_passed() -> None:
    catalog = _declared()
    for criterion in ("users: must be fast", "users: id (primary, obviously)", "Typecheck passes",
                      "Proper indexes on all frequently queried columns", "Users: id"):
        assert expectation_of(criterion) is None
        assert judge((criterion,), catalog, True)[0].status == UNVERIFIED


def test_a_criterion_quoting_the_story_s_own_expectation_is_judged_by_it() -> None:
    from schema_tools import CheckConstraint, ForeignKeySpec, TableExpectation

    catalog = _declared()
    usage = catalog.tables["usage_events"]
    expectations = [TableExpectation("usage_events", "stories", 1, checks=("quantity > 0",),
                                     foreign_keys=(ForeignKeySpec(("tenant_id",), "tenants", ("id",)),))]
    criteria = ("Quantities are positive: quantity > 0", "Every usage event belongs to tenants(id)",
                "Usage is billed monthly")
    with_check = Catalog({**catalog.tables, "usage_events": replace(
        usage, checks=(*usage.checks, CheckConstraint("usage_events_quantity_check", "(quantity > 0)", ("quantity",))))})
    verdicts = [v.status for v in judge(criteria, with_check, True, expectations)]
    assert verdicts == [VERIFIED, VERIFIED, UNVERIFIED]
    without = Catalog({**catalog.tables, "usage_events": replace(usage, checks=(), foreign_keys=())})
    failed = judge(criteria, without, True, expectations)
    assert [v.status for v in failed] == [FAILED, FAILED, UNVERIFIED]
    assert failed[0].detail == "no CHECK (quantity > 0) on usage_events"
    assert [v.status for v in judge(criteria, with_check, True)] == [UNVERIFIED] * 3  # without the story's expectations
