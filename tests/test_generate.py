"""``schema-tools generate``: expectations to migrations that lint clean, roll back exactly and
verify; the safe forms on tables that may hold rows (with pre-flight before they run); hostile
fragments refused; what cannot be said safely listed, never guessed."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from conftest import MIGRATIONS, ROOT, Cli, scalar, settings_for
from schema_tools import Catalog, MigrationFailed, Settings, commands
from schema_tools.catalog.inventory import inventory

STORIES = ROOT / "ralph" / "stories.toml"


def project_with(tmp_path: Path, *ids: str) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for mid in ids:
        for path in MIGRATIONS.glob(f"{mid}*.sql"):
            shutil.copyfile(path, folder / path.name)
    return folder


def assert_rolls_back_to(settings: Settings, url: str, to: str, before: dict[str, str]) -> None:
    """Rolling back to ``to`` leaves the schema exactly as ``before``."""
    commands.rollback(settings, to=to, confirm=lambda losses: True)  # non-transactional ones need a yes
    with psycopg.connect(url, autocommit=True) as conn:
        assert inventory(conn) == before


def assert_applies_verifies_and_rolls_back(settings: Settings, expect: Path, url: str, to: str,
                                           before: dict[str, str]) -> None:
    """The drafted migrations apply, the expectations hold, and their rollbacks restore ``before``."""
    commands.migrate(settings)
    assert not commands.verify(settings, [expect]).errors
    assert_rolls_back_to(settings, url, to, before)


def test_the_stories_are_generated_from_the_first_migration_alone(empty_db_url: str, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users")
    settings = settings_for(empty_db_url, folder)
    first = commands.generate(settings, [STORIES], story="SCHEMA-001")
    second = commands.generate(settings, [STORIES], story="SCHEMA-002")
    # the stories' own migration ids name the files, so the stories find them
    assert [f.id for f in first.files] == ["0002_core_tables"] and [f.id for f in second.files] == ["0003_api_keys_usage"]
    for result in (first, second):
        assert result.clean and result.proof is not None and result.proof.holds and not result.proof.remaining
        assert result.proof.checks > 50
    assert "-- depends: 0002_core_tables" in (folder / "0003_api_keys_usage.sql").read_text()

    # independently of the proof: lint, check-reversible, and verify after migrate are clean
    assert not commands.lint(settings, use_cache=False).errors
    reversible = commands.check_reversible(settings)
    assert [c.name for c in reversible.checks if c.passed] == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    commands.migrate(settings)
    report = commands.verify(settings, [STORIES])
    assert not report.errors and len(report.checks) > 100
    # nothing left to generate
    again = commands.generate(settings, [STORIES])
    assert again.draft.empty and not again.draft.unexpressed and not again.files


SAFE_STORY = """
[tables.api_keys]
columns.owner_id = "bigint null"
columns.quota_limit = "bigint not null"
unique = [["tenant_id", "name"]]
indexed = [["tenant_id", "created_at"]]
foreign_keys = [{columns = ["owner_id"], references = "users(id)", on_delete = "set null"}]
"""


def _seed(conn: psycopg.Connection, keys: int = 50) -> None:
    conn.execute("INSERT INTO users (email) VALUES ('a@b.example')")
    conn.execute("INSERT INTO tenants (name) VALUES ('acme')")
    conn.execute("INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, quota_limit) "
                 "SELECT 1, md5(i::text) || md5(i::text), 'pre' || i, 'key ' || i, i FROM generate_series(1, %s) i",
                 (keys,))


def test_an_existing_table_with_rows_gets_the_safe_forms_and_preflight_runs_first(cli: Cli, db_url: str,
                                                                                  tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001", "0002", "0003")
    settings = settings_for(db_url, folder)
    expect = tmp_path / "expect.toml"
    expect.write_text(SAFE_STORY)
    with psycopg.connect(db_url, autocommit=True) as conn:
        _seed(conn)
    result = commands.generate(settings, [expect], name="api_key_owner", live=True, allow_drop=True)
    assert result.clean, (result.draft.unexpressed, result.proof)
    inside, outside = (folder / "0004_api_key_owner.sql").read_text(), (folder / "0005_api_key_owner_online.sql").read_text()
    assert "-- lock_timeout: 5s" in inside and "-- transactional: false" in outside and "-- lock_timeout" in outside
    assert "FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL NOT VALID;" in inside
    assert "CHECK (quota_limit IS NOT NULL) NOT VALID;" in inside
    for statement in ("VALIDATE CONSTRAINT api_keys_owner_id_fkey;", "VALIDATE CONSTRAINT api_keys_quota_limit_not_null;",
                      "ALTER COLUMN quota_limit SET NOT NULL;",
                      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS api_keys_tenant_id_name_key ON api_keys (tenant_id, name);",
                      "ADD CONSTRAINT api_keys_tenant_id_name_key UNIQUE USING INDEX api_keys_tenant_id_name_key;",
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS api_keys_tenant_id_created_at_idx",
                      "CREATE INDEX CONCURRENTLY IF NOT EXISTS api_keys_owner_id_idx",
                      "DROP INDEX CONCURRENTLY IF EXISTS api_keys_tenant_id_idx;"):  # made redundant: --allow-drop
        assert statement in outside, statement
    statements = [line for line in inside.splitlines() if not line.startswith("--")]
    assert not any("CONCURRENTLY" in line or "VALIDATE" in line for line in statements)

    # rows that would make it fail: pre-flight names them and nothing is applied
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name) VALUES (1, repeat('e', 64), 'dupe', 'key 7')")
    checked = commands.preflight(settings)
    assert sorted({f.rule for f in checked.errors}) == ["preflight-check", "preflight-not-null", "preflight-unique"]
    assert [s.state for s in commands.status(settings)][-2:] == ["pending", "pending"]

    refused = cli("migrate", "--preflight", "--migrations", str(folder), "--database", db_url)
    assert refused.code == 1 and "duplicated value" in refused.out + refused.err, refused
    assert [s.state for s in commands.status(settings)][-2:] == ["pending", "pending"]

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM api_keys WHERE key_prefix = 'dupe'")
    assert not commands.preflight(settings).errors
    done = cli("migrate", "--preflight", "--migrations", str(folder), "--database", db_url)
    assert done.code == 0, done
    assert [s.state for s in commands.status(settings)][-2:] == ["applied", "applied"]
    assert not commands.verify(settings, [expect]).errors


def test_preflight_follows_a_not_valid_foreign_key_to_its_validate(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    write = {"0001_base": ("CREATE TABLE parent (id bigint PRIMARY KEY);\n"
                           "CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint);\n"
                           "CREATE INDEX child_parent_id_idx ON child (parent_id);\n", "DROP TABLE child, parent;\n")}
    folder.mkdir()
    for mid, (up, down) in write.items():
        (folder / f"{mid}.sql").write_text(up)
        (folder / f"{mid}.rollback.sql").write_text(down)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1), (2, 99)")
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.child]\nforeign_keys = [{columns = ["parent_id"], references = "parent(id)"}]\n')
    assert commands.generate(settings, [expect], name="child_parent", live=True).clean
    found = commands.preflight(settings).errors
    assert [f.rule for f in found] == ["preflight-foreign-key"] and "VALIDATE CONSTRAINT child_parent_id_fkey" in found[0].message
    with pytest.raises(MigrationFailed):  # applied anyway, the VALIDATE fails: nothing half-recorded
        commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM child WHERE id = 2")
    commands.migrate(settings)
    assert not commands.verify(settings, [expect]).errors


def test_ralph_run_generate_carries_both_stories_with_no_agent(empty_db_url: str, tmp_path: Path) -> None:
    from test_ralph_run import project, ralph

    root = project(tmp_path, ("0001_users",))
    result = ralph(root, empty_db_url, "--generate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 stories pass" in result.stdout
    log = (root / "progress.log").read_text()
    assert "Note: generate: drafted 0002_core_tables.sql" in log and "Note: generate: drafted 0003_api_keys_usage.sql" in log
    assert "SCHEMA-001 completed" in log and "SCHEMA-002 completed" in log
    settings = settings_for(empty_db_url, root / "migrations")
    assert not commands.lint(settings, use_cache=False).errors
    assert all(c.passed for c in commands.check_reversible(settings).checks)
    assert not commands.verify(settings, [root / "ralph" / "stories.toml"]).errors


NEEDS_BACKFILL = """
[[stories]]
id = "SCHEMA-003"
title = "Tenants get a plan"
priority = 3
depends_on = ["SCHEMA-002"]
criteria = ["tenants.plan: text not null"]

[stories.expect.tables.tenants]
columns.plan = "text not null"
"""


def test_what_generate_cannot_express_fails_without_an_agent_and_starts_the_agent_s_prompt(
        empty_db_url: str, tmp_path: Path) -> None:
    from test_ralph_run import project, ralph

    root = project(tmp_path)
    stories = root / "ralph" / "stories.toml"
    stories.write_text(stories.read_text() + NEEDS_BACKFILL)
    alone = ralph(root, empty_db_url, "--generate")
    assert alone.returncode == 1
    log = (root / "progress.log").read_text()
    assert "generate: could not express: column tenants.plan: NOT NULL without a default on a table that may hold rows" in log
    assert sorted(p.name for p in (root / "migrations").glob("0004*")) == []  # nothing half-drafted is left

    (stories).write_text(stories.read_text().replace('columns.plan = "text not null"',
                                                     'columns.plan = "text not null"\nindexed = ["name"]'))
    echoed = ralph(root, empty_db_url, "--generate", "--story", "SCHEMA-003", "--max-iterations", "1",
                   agent_mode="nothing", extra_env={"FAKE_AGENT_ECHO": "1"})
    assert echoed.returncode == 1
    prompt = "".join(p.read_text() for p in (root / ".ralph" / "iterations").glob("*-agent.log"))
    assert "## A draft from `schema-tools generate`" in prompt
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS tenants_name_idx ON tenants (name);" in prompt
    assert "It could not express (write these yourself):\n- column tenants.plan: NOT NULL without a default" in prompt


HOSTILE = {
    "default": 'columns.note = {type = "text", default = "\'x\'); DROP TABLE users; --"}',
    "type": 'columns.note = "text; DROP TABLE users"',
    "comment in a check": 'checks = ["id > 0 -- and the rest of the line is gone"]',
    "index key": 'indexes.evil = {keys = ["lower(email)); DROP TABLE users; --"]}',
    "where": 'indexes.evil = {keys = ["email"], where = "true; DROP TABLE users"}',
    "line break": 'columns.note = {type = "text", default = "\'a\'\\nNOT NULL"}',
}


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_a_hostile_fragment_is_refused_never_written_into_ddl(empty_db_url: str, tmp_path: Path, what: str) -> None:
    folder = project_with(tmp_path, "0001_users")
    expect = tmp_path / "expect.toml"
    expect.write_text(f"[tables.users]\n{HOSTILE[what]}\n")
    result = commands.generate(settings_for(empty_db_url, folder), [expect], name="evil")
    assert result.draft.unexpressed and not result.clean
    assert "is not one SQL" in " ".join(result.draft.unexpressed)
    assert not any("DROP TABLE users" in f.sql for f in result.files)
    assert sorted(p.name for p in folder.iterdir()) == ["0001_users.rollback.sql", "0001_users.sql"]


def test_the_cli_says_what_it_wrote_what_it_proved_and_what_it_could_not(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users", "0002_core_tables", "0003_api_keys_usage")
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.tenants]\ncolumns.plan = "text not null"\ncolumns.region = {type = "text", '
                      'not_null = true, default = "\'eu\'"}\nindexed = ["region"]\n')
    done = cli("generate", "--expect", str(expect), "--migrations", str(folder), "--name", "tenant_region")
    assert done.code == 1, done.err
    assert "wrote migrations/0004_tenant_region.sql and its rollback (in one transaction)" in done.out
    assert "wrote migrations/0005_tenant_region_online.sql and its rollback (outside a transaction" in done.out
    assert "proven on a scratch database: lint clean" in done.out
    assert "could not express (write these by hand):\n  - column tenants.plan: NOT NULL without a default" in done.out
    assert "ALTER TABLE tenants ADD COLUMN region text NOT NULL DEFAULT 'eu';" in (folder / "0004_tenant_region.sql").read_text()

    again = cli("generate", "--expect", str(expect), "--migrations", str(folder))
    assert again.code == 1 and "nothing to generate" in again.out and "tenants.plan" in again.out

    for args, message in (((str(tmp_path / "missing.toml"),), "missing.toml"),
                          ((str(STORIES), "--story", "SCHEMA-999"), "--story SCHEMA-999")):
        bad = cli("generate", "--expect", *args, "--migrations", str(folder))
        assert bad.code == 2 and message in bad.err and "Traceback" not in bad.err
        assert len(bad.err.strip().splitlines()) == 1


def test_with_a_database_that_differs_from_the_files_it_refuses(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users")
    commands.migrate(settings_for(empty_db_url, folder))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nickname text")  # by hand
    refused = cli("generate", "--expect", str(STORIES), "--story", "SCHEMA-001", "--migrations", str(folder),
                  "--database", empty_db_url)
    assert refused.code == 1, refused.err
    assert "the database differs from what the migration files build" in refused.err
    assert "users.nickname" in refused.err
    assert sorted(p.name for p in folder.iterdir()) == ["0001_users.rollback.sql", "0001_users.sql"]


def test_the_readme_example_prints_what_the_readme_says(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    import re

    section = (ROOT / "README.md").read_text().split("### `schema-tools generate`", 1)[1].split("\n### ", 1)[0]

    def block(lang: str) -> str:
        found = re.search(rf"```{lang}\n(.*?)```", section, re.S)
        assert found is not None, f"no {lang} block in the README's generate section"
        return found.group(1)

    toml, printed, sql = (block(lang) for lang in ("toml", "text", "sql"))
    folder = project_with(tmp_path, "0001_users", "0002_core_tables", "0003_api_keys_usage")
    (tmp_path / "owner.toml").write_text(toml)
    done = cli("generate", "--expect", "owner.toml", "--name", "api_key_owner", "--allow-drop",
               "--migrations", str(folder), cwd=tmp_path)
    assert done.code == 0, done.err
    assert done.out == printed
    assert (folder / "0005_api_key_owner_online.sql").read_text() == sql


def test_verify_checks_table_and_column_comments_exactly(tmp_path: Path) -> None:
    from schema_tools import Catalog, Column, Table

    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.notes]\ncomment = "Free text"\ncolumns.body = {type = "text", comment = "what was said"}\n')
    expectations = commands.load_expectations([expect])
    right = Table("public", "notes", (Column("body", "text", comment="what was said"),), comment="Free text")
    wrong = Table("public", "notes", (Column("body", "text", comment="What was said"),))
    assert not commands.verify_catalog(Catalog({"notes": right}), expectations, invariants=False).errors
    found = commands.verify_catalog(Catalog({"notes": wrong}), expectations, invariants=False).errors
    assert sorted(f.rule for f in found) == ["column", "comment"]
    assert "has the comment 'What was said', expected 'what was said'" in found[0].message + found[1].message
    assert "notes has no comment" in found[0].message + found[1].message


def test_a_planted_symlink_or_a_hostile_story_id_never_sends_the_files_elsewhere(empty_db_url: str, tmp_path: Path) -> None:
    from schema_tools import SchemaToolsError

    folder = project_with(tmp_path, "0001_users")
    settings = settings_for(empty_db_url, folder)
    stories = tmp_path / "stories.toml"
    stories.write_text(STORIES.read_text().replace('migrations = ["0001_users", "0002_core_tables"]',
                                                   'migrations = ["0001_users", "../../escaped"]'))
    result = commands.generate(settings, [stories], story="SCHEMA-001", check=False, write=False)
    assert [f.id for f in result.files] == ["0002_schema_001"]  # the hostile id is not taken as a file name

    outside = tmp_path / "outside.sql"
    (folder / "0002_core_tables.rollback.sql").symlink_to(outside)  # dangling: exists() says False
    with pytest.raises(SchemaToolsError, match="rollback file without a migration"):  # refused as it is read
        commands.generate(settings, [STORIES], story="SCHEMA-001", check=False)
    from schema_tools.generator.files import GeneratedFile, write  # should one appear meanwhile: never written through
    with pytest.raises(SchemaToolsError, match="exists already"):
        write(folder, [GeneratedFile("0002_core_tables", "SELECT 1;\n", "SELECT 1;\n", True)])
    (folder / "0002_core_tables.rollback.sql").unlink()
    (folder / "0002_core_tables.sql").symlink_to(outside)
    with pytest.raises(SchemaToolsError):  # the folder itself is refused before anything is written
        commands.generate(settings, [STORIES], story="SCHEMA-001", check=False)
    assert not outside.exists() and sorted(p.name for p in folder.iterdir()) == [
        "0001_users.rollback.sql", "0001_users.sql", "0002_core_tables.sql"]


OWNER_STORY = """
[[stories]]
id = "SCHEMA-003"
title = "API keys have unique, short names"
priority = 3
depends_on = ["SCHEMA-002"]
criteria = ["UNIQUE(name, tenant_id) on api_keys", "api_keys names are at most 100 characters"]

[stories.expect.tables.api_keys]
unique = [["name", "tenant_id"]]
checks = ["length(name) <= 100"]
indexed = ["last_used_at"]
"""


def _owner_story_target(tmp_path: Path, url: str, keys: int, duplicate_of: str) -> Path:
    """A project whose first two stories pass on ``url``, with SCHEMA-003 added and ``keys`` api
    keys plus one more named ``duplicate_of`` (a duplicate for its UNIQUE (name, tenant_id))."""
    from test_ralph_run import project, ralph

    root = project(tmp_path)
    assert ralph(root, url).returncode == 0
    stories = root / "ralph" / "stories.toml"
    stories.write_text(stories.read_text() + OWNER_STORY)
    with psycopg.connect(url, autocommit=True) as conn:
        _seed(conn, keys=keys)
        conn.execute("INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name) VALUES (1, repeat('e', 64), 'dupe', %s)",
                     (duplicate_of,))
    return root


def test_ralph_generate_on_a_target_with_rows_runs_preflight_before_touching_it(empty_db_url: str, tmp_path: Path) -> None:
    from test_ralph_run import applied, ralph

    root = _owner_story_target(tmp_path, empty_db_url, keys=20, duplicate_of="key 7")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET name = repeat('n', 150) WHERE key_prefix = 'pre3'")
    before = applied(empty_db_url)
    blocked = ralph(root, empty_db_url, "--generate", "--story", "SCHEMA-003")
    assert blocked.returncode == 1
    log = (root / "progress.log").read_text()
    assert "preflight (target): 0005_schema_003_online: CREATE UNIQUE INDEX CONCURRENTLY" in log
    assert "2 rows share 1 duplicated value(s)" in log
    assert "VALIDATE CONSTRAINT api_keys_check: 1 row(s); e.g. primary keys 3 -- fix the rows before" in log
    assert applied(empty_db_url) == before  # nothing reached the target
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        assert scalar(conn, "SELECT count(*) FROM api_keys") == 21
        assert scalar(conn, "SELECT to_regclass('api_keys_name_tenant_id_key')") is None

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM api_keys WHERE key_prefix = 'dupe' OR key_prefix = 'pre3'")
    done = ralph(root, empty_db_url, "--generate", "--story", "SCHEMA-003")
    assert done.returncode == 0, done.stdout + done.stderr
    assert applied(empty_db_url) == before + ["0004_schema_003", "0005_schema_003_online"]
    online = (root / "migrations" / "0005_schema_003_online.sql").read_text()
    assert "USING INDEX" in online and "VALIDATE CONSTRAINT api_keys_check" in online
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS api_keys_last_used_at_idx" in online


def _expectations_of(catalog: Catalog) -> str:
    """TOML stating every table of ``catalog`` exactly as it is (what verify can check)."""
    import json

    def q(value: object) -> str:
        return json.dumps(value)

    lines: list[str] = []
    for name, t in sorted(catalog.tables.items()):
        lines.append(f"[tables.{name}]")
        for c in t.columns:
            fields = [f"type = {q(c.type)}", f"not_null = {str(c.not_null).lower()}"]
            fields += ["identity = true"] if c.identity else [f"default = {q(c.default)}"] if c.default else []
            fields += [f"comment = {q(c.comment)}"] if c.comment else []
            lines.append(f"columns.{c.name} = {{{', '.join(fields)}}}")
        lines += [f"primary_key = {q(list(t.primary_key.columns))}"] if t.primary_key else []
        lines += [f"unique = {q([list(u.columns) for u in t.uniques])}"] if t.uniques else []
        fks = [f'{{columns = {q(list(fk.columns))}, references = "{fk.ref_table}({", ".join(fk.ref_columns)})", '
               f'on_delete = "{fk.on_delete}"}}' for fk in t.foreign_keys]
        lines += [f"foreign_keys = [{', '.join(fks)}]"] if fks else []
        lines += [f"checks = {q([c.expression for c in t.checks])}"] if t.checks else []
        lines += [f"indexes.{i.name} = {{keys = {q(list(i.keys))}, unique = {str(i.unique).lower()}"
                  + (f", where = {q(i.predicate)}" if i.predicate else "") + "}"
                  for i in t.indexes if not i.primary and not i.constraint]
        lines += [f"comment = {q(t.comment)}"] if t.comment else []
        lines.append("")
    return "\n".join(lines)


def test_on_a_real_shaped_history_the_draft_is_exactly_what_was_asked(empty_db_url: str, tmp_path: Path) -> None:
    """Renames without COLUMN, renamed indexes and constraints, comments, views, functions,
    triggers and enums in 80 migrations: the files' model must equal the live schema in everything
    an expectation can state, or generate would draft changes nobody asked for."""
    from dataclasses import replace

    from shapes import write_history

    folder = tmp_path / "migrations"
    folder.mkdir()
    write_history(folder, 80)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    exact = tmp_path / "exact.toml"
    exact.write_text(_expectations_of(commands.read_schema(settings)))
    quiet = replace(settings, disabled_invariants=("fk-indexed",))
    same = commands.generate(quiet, [exact], live=True, write=False)
    assert same.draft.empty and not same.draft.unexpressed, [c.what for c in same.draft.changes] + same.draft.unexpressed

    target = next(t for t in sorted(commands.read_schema(settings).tables) if t.startswith("account_")
                  and not commands.read_schema(settings).tables[t].is_indexed_on(("created_at",)))
    asked = tmp_path / "asked.toml"
    asked.write_text(exact.read_text().replace(
        f"[tables.{target}]\n", f"[tables.{target}]\ncolumns.tier = {{type = \"text\", not_null = true, default = "
        f"\"'free'\"}}\nindexed = [\"created_at\"]\n", 1))
    result = commands.generate(quiet, [asked], live=True, name="tier")
    assert [c.what for c in result.draft.changes] == [f"add column {target}.tier",
                                                      f"index on {target}(created_at) (CONCURRENTLY)"]
    assert result.proof is not None and result.proof.holds
    assert set(result.proof.remaining) == result.proof.already  # only what the history had already
    commands.migrate(settings)
    assert not {f.message for f in commands.verify(quiet, [asked]).errors} - result.proof.already


def test_a_name_with_a_line_break_or_a_nul_is_refused_never_written(empty_db_url: str, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users")
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables."evil\\nDROP TABLE users;\\n--"]\ncolumns.id = {type = "bigint", identity = true}\n'
                      'primary_key = ["id"]\n[tables.nul]\ncolumns."a\\u0000b" = "text"\n'
                      '[tables.users]\ncomment = "a\\u0000b"\n'
                      '[tables.tenants]\ncolumns.id = {type = "bigint", identity = true}\nprimary_key = ["id"]\n'
                      'columns.kind = "text"\nallowed_values.kind = ["a", "b\\u0000"]\n'
                      '[tables.fine]\ncolumns.id = {type = "bigint", identity = true}\nprimary_key = ["id"]\n'
                      'comment = "two\\nlines; DROP TABLE users;"\n')
    settings = settings_for(empty_db_url, folder)
    result = commands.generate(settings, [expect], name="evil")
    assert [u.split(":")[0] for u in result.draft.unexpressed] == [
        "table 'evil\\nDROP TABLE users;\\n--'", "table 'nul'", "create table tenants", "comment on table users"]
    assert result.proof is not None and result.proof.holds
    migration = next(m for m in commands.read_migrations(settings) if m.id == "0002_evil")
    assert [s.sql.split()[0].upper() for s in migration.statements] == ["CREATE", "COMMENT"]
    commands.migrate(settings)
    with psycopg.connect(empty_db_url) as conn:
        assert scalar(conn, "SELECT to_regclass('users')") is not None
        assert scalar(conn, "SELECT obj_description('fine'::regclass)") == "two\nlines; DROP TABLE users;"


def test_with_a_database_that_has_pending_migrations_it_says_to_migrate_first(cli: Cli, empty_db_url: str,
                                                                              tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users", "0002_core_tables")
    commands.migrate(settings_for(empty_db_url, folder), to="0001_users")
    refused = cli("generate", "--expect", str(STORIES), "--story", "SCHEMA-002", "--migrations", str(folder),
                  "--database", empty_db_url)
    assert refused.code == 1
    assert "1 migration(s) are not applied on the database (first: 0002_core_tables)" in refused.err
    assert "schema-tools migrate" in refused.err and len(refused.err.strip().splitlines()) == 1


def test_a_changed_value_set_or_foreign_key_action_replaces_the_constraint_safely(empty_db_url: str,
                                                                                   tmp_path: Path) -> None:
    """New constraint NOT VALID, validated outside the transaction, the old one dropped only then;
    the rollback brings the old one back, validated, exactly as it was."""
    folder = project_with(tmp_path, "0001_users", "0002_core_tables", "0003_api_keys_usage")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        _seed(conn, keys=5)
        before = inventory(conn)
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.api_keys]\nallowed_values.status = ["active", "revoked", "paused"]\n'
                      'foreign_keys = [{columns = ["tenant_id"], references = "tenants(id)", on_delete = "restrict"}]\n')
    result = commands.generate(settings, [expect], name="key_status", live=True)
    assert result.clean, (result.draft.unexpressed, result.proof)
    inside, outside = (folder / "0004_key_status.sql").read_text(), (folder / "0005_key_status_online.sql").read_text()
    assert "ADD CONSTRAINT api_keys_status_check1 CHECK (status IN ('active', 'revoked', 'paused')) NOT VALID;" in inside
    assert "ADD CONSTRAINT api_keys_tenant_id_fkey1 FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT NOT VALID;" in inside
    order = [line for line in outside.splitlines() if line.startswith("ALTER")]
    assert order == ["ALTER TABLE api_keys VALIDATE CONSTRAINT api_keys_tenant_id_fkey1;",
                     "ALTER TABLE api_keys DROP CONSTRAINT api_keys_tenant_id_fkey;",
                     "ALTER TABLE api_keys VALIDATE CONSTRAINT api_keys_status_check1;",
                     "ALTER TABLE api_keys DROP CONSTRAINT api_keys_status_check;"]
    assert_applies_verifies_and_rolls_back(settings, expect, empty_db_url, "0003_api_keys_usage", before)


def test_a_named_index_with_another_shape_is_rebuilt_concurrently_and_swapped(empty_db_url: str, tmp_path: Path) -> None:
    folder = project_with(tmp_path, "0001_users", "0002_core_tables")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@b.example'), ('c@d.example')")
        before = inventory(conn)
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.sessions]\nindexes.sessions_expires_at_idx = {keys = ["expires_at", "user_id"]}\n'
                      '[tables.users]\nindexes.users_email_lower_key = {keys = ["lower(email)"], unique = true, '
                      'where = "email <> \'\'"}\n'
                      '[tables.tenant_users]\nindexes.tenant_users_pkey = {keys = ["user_id"]}\n')
    result = commands.generate(settings, [expect], name="reshape", live=True)
    assert result.draft.unexpressed == ["index tenant_users_pkey on tenant_users backs constraint tenant_users_pkey: "
                                        "change that constraint by hand"]
    online = (folder / "0003_reshape.sql").read_text()
    assert ("CREATE INDEX CONCURRENTLY sessions_sessions_expires_at_idx_rebuild ON sessions (expires_at, user_id);\n"
            "DROP INDEX CONCURRENTLY sessions_expires_at_idx;\n"
            "ALTER INDEX sessions_sessions_expires_at_idx_rebuild RENAME TO sessions_expires_at_idx;") in online
    assert "CREATE UNIQUE INDEX CONCURRENTLY users_users_email_lower_key_rebuild ON users ((lower(email))) WHERE (email <> '');" in online
    commands.migrate(settings)
    report = commands.verify(settings, [expect], invariants=False)
    assert [f.message for f in report.errors] == ["index tenant_users_pkey is on (tenant_id, user_id)"]
    assert_rolls_back_to(settings, empty_db_url, "0002_core_tables", before)


def test_what_is_safe_follows_the_oldest_postgres_the_project_supports(empty_db_url: str, tmp_path: Path) -> None:
    from dataclasses import replace

    folder = project_with(tmp_path, "0001_users", "0002_core_tables")
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.tenants]\ncolumns.region = {type = "text", not_null = true, default = "\'eu\'"}\n'
                      'columns.global_quota_limit = "bigint not null"\n')
    settings = settings_for(empty_db_url, folder)
    old = commands.generate(replace(settings, postgres=10), [expect], name="old", check=False, write=False)
    assert [u.split(":")[0] for u in old.draft.unexpressed] == ["column tenants.region",
                                                                "column tenants.global_quota_limit"]
    assert "before PostgreSQL 11 (postgres = 10) a default is written to every row" in old.draft.unexpressed[0]
    assert "before PostgreSQL 12 (postgres = 10) SET NOT NULL scans" in old.draft.unexpressed[1]
    current = commands.generate(settings, [expect], name="current", check=False, write=False)
    assert not current.draft.unexpressed and len(current.draft.changes) == 2


def test_a_primary_key_on_an_existing_table_goes_through_not_null_and_a_concurrent_index(empty_db_url: str,
                                                                                          tmp_path: Path) -> None:
    from dataclasses import replace

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_legacy.sql").write_text("CREATE TABLE legacy (id bigint, name text);\n")
    (folder / "0001_legacy.rollback.sql").write_text("DROP TABLE legacy;\n")
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO legacy SELECT i, 'n' || i FROM generate_series(1, 100) i")
        before = inventory(conn)
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.legacy]\nprimary_key = ["id"]\n')
    old = commands.generate(replace(settings, postgres=11), [expect], check=False, write=False)
    assert [u.split(":")[0] for u in old.draft.unexpressed] == ["column legacy.id", "table legacy"] and old.draft.empty
    result = commands.generate(settings, [expect], name="legacy_pk", live=True)
    assert result.clean, (result.draft.unexpressed, result.proof)
    online = (folder / "0003_legacy_pk_online.sql").read_text()
    statements = [line for line in online.splitlines() if line and not line.startswith("--")]
    assert statements == ["ALTER TABLE legacy VALIDATE CONSTRAINT legacy_id_not_null;",
                          "ALTER TABLE legacy ALTER COLUMN id SET NOT NULL;",
                          "ALTER TABLE legacy DROP CONSTRAINT legacy_id_not_null;",
                          "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS legacy_pkey ON legacy (id);",
                          "ALTER TABLE legacy ADD CONSTRAINT legacy_pkey PRIMARY KEY USING INDEX legacy_pkey;"]
    assert_applies_verifies_and_rolls_back(settings, expect, empty_db_url, "0001_legacy", before)


def test_the_expectations_default_to_the_project_s_and_none_at_all_is_one_line(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "ralph").mkdir(parents=True)
    project_with(root, "0001_users")
    shutil.copyfile(STORIES, root / "ralph" / "stories.toml")
    (root / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "migrations"\n'
                                         '[tool.schema_tools.verify]\nexpect = ["ralph/stories.toml"]\n')
    done = cli("generate", "--story", "SCHEMA-001", cwd=root)
    assert done.code == 0, done.err
    assert "wrote migrations/0002_core_tables.sql and its rollback (in one transaction)" in done.out
    (root / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "migrations"\n')
    bare = cli("generate", cwd=root)
    assert bare.code == 2 and bare.err.strip() == (
        'schema-tools: error: no expectations to generate from -- pass --expect FILE, or set '
        '[tool.schema_tools.verify] expect = ["..."] in pyproject.toml')


def test_a_draft_that_fails_on_the_target_hands_the_agent_the_draft_and_why(empty_db_url: str, tmp_path: Path) -> None:
    from test_ralph_run import ralph

    root = _owner_story_target(tmp_path, empty_db_url, keys=3, duplicate_of="key 2")
    run = ralph(root, empty_db_url, "--generate", "--story", "SCHEMA-003", "--max-iterations", "1",
                agent_mode="nothing", extra_env={"FAKE_AGENT_ECHO": "1"})
    assert run.returncode == 1
    prompt = "".join(p.read_text() for p in (root / ".ralph" / "iterations").glob("*-agent.log"))
    assert "## The previous attempt failed with\n- preflight (target): 0005_schema_003_online: CREATE UNIQUE INDEX" in prompt
    assert "## A draft from `schema-tools generate`" in prompt and "migrations/0005_schema_003_online.sql:" in prompt
    assert (root / "migrations" / "0005_schema_003_online.sql").exists()  # the draft stays, for the agent to fix


def test_generate_on_a_database_built_from_a_hard_history_drafts_exactly_what_was_asked(
        empty_db_url: str, tmp_path: Path) -> None:
    """The base is what the files build when the server replays them (typed literal defaults,
    freed names, enum value renames, CREATE TABLE AS...): a database equal to its files drafts
    nothing; one new column and one new index asked for draft exactly those, lock-safe, and the
    proven draft exits 0 though the history has invariant findings of its own."""
    from dataclasses import replace

    from shapes import write_history

    folder = tmp_path / "migrations"
    folder.mkdir()
    write_history(folder, 60, seed=11, hard=True)
    settings = settings_for(empty_db_url, folder)
    commands.migrate(settings)
    schema = commands.read_schema(settings)
    exact = tmp_path / "exact.toml"
    exact.write_text(_expectations_of(schema))
    quiet = replace(settings, disabled_invariants=("fk-indexed",))
    same = commands.generate(quiet, [exact], live=True, write=False)
    assert same.draft.empty and not same.draft.unexpressed, [c.what for c in same.draft.changes] + same.draft.unexpressed
    target = next(t for t in sorted(schema.tables) if t.startswith("account_")
                  and not schema.tables[t].is_indexed_on(("created_at",)))
    asked = tmp_path / "asked.toml"
    asked.write_text(exact.read_text().replace(
        f"[tables.{target}]\n", f"[tables.{target}]\ncolumns.tier = {{type = \"text\", default = \"'free'\"}}\n"
        "indexed = [\"created_at\"]\n", 1))
    result = commands.generate(settings, [asked], live=True, name="tier")
    assert [c.what for c in result.draft.changes] == [f"add column {target}.tier",
                                                      f"index on {target}(created_at) (CONCURRENTLY)"]
    assert any("CREATE INDEX CONCURRENTLY" in f.sql and not f.transactional for f in result.files)
    assert result.proof is not None and result.proof.holds
    assert result.exit_code == 0, (result.proof.remaining, result.proof.already)


def test_generate_refuses_a_database_that_differs_from_what_its_files_build(db_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tenants ALTER COLUMN name SET DEFAULT 'by hand'")
    expect = tmp_path / "e.toml"
    expect.write_text('[tables.tenants]\ncolumns.plan = "text"\n')
    from schema_tools.errors import SchemaToolsError

    with pytest.raises(SchemaToolsError, match="differs from what the migration files build") as caught:
        commands.generate(settings_for(db_url), [expect], live=True, write=False)
    assert "column public.tenants.name" in " ".join(caught.value.context)
