"""lint: each rule against its fixture (a true positive and a near miss), our migrations, a
corpus of real-world SQL that must never crash it, and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest

from conftest import FIXTURES, LOCKING_TRIGGER, ROOT, Cli, scalar, write_migration
from schema_tools import ConfigError, load_settings
from schema_tools.findings import Severity
from schema_tools.linter import RULES, lint_migrations
from schema_tools.migration_files.model import Migration
from schema_tools.migration_files.read import read_folder
from schema_tools.migration_files.yoyo import parse_directives

LINT_FIXTURES = FIXTURES / "lint"
SECTION = re.compile(r"^-- migration: (\S+)\s*$")
EXPECT = re.compile(r"^-- expect(-file|-next-line)?: (.+)$")


def fixture_migrations(path: Path) -> tuple[list[Migration], set[tuple[str, int]]]:
    """Sections of a fixture as migrations that keep the file's line numbers, and the expected
    (rule, line) pairs from its ``-- expect`` comments."""
    lines = path.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if SECTION.match(line)]
    migrations = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        text = "\n".join(line if start <= i < end else "" for i, line in enumerate(lines)) + "\n"
        section = lines[start:end]
        rollback = None if any(line.strip() == "-- no-rollback" for line in section) else ""
        name = SECTION.match(lines[start])
        assert name is not None
        migrations.append(Migration(name.group(1), path, text, rollback, parse_directives(text, str(path))))
    expected = set()
    for i, line in enumerate(lines):
        match = EXPECT.match(line)
        if not match:
            continue
        if match.group(1) == "-file":
            target = 1
        elif match.group(1) == "-next-line":
            target = i + 2
        else:
            target = next(j + 1 for j in range(i + 1, len(lines))
                          if lines[j].strip() and not lines[j].lstrip().startswith("--"))
        expected |= {(rule.strip(), target) for rule in match.group(2).split(",")}
    return migrations, expected


FIXTURE_FILES = sorted(LINT_FIXTURES.glob("*.sql"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_rule_fixture(path: Path) -> None:
    rules = set(path.stem.split("+"))
    migrations, expected = fixture_migrations(path)
    assert expected, "each fixture states at least one expected finding"
    report = lint_migrations(migrations)
    found = {(f.rule, f.line) for f in report.findings if f.rule in rules}
    assert found == expected


def test_every_rule_has_a_fixture() -> None:
    covered = {rule for p in FIXTURE_FILES for rule in p.stem.split("+")}
    distribution = {r for r in RULES if r.startswith("distribution-")}  # fixture schemas: test_distribution.py
    folder = {"duplicate-version", "empty-folder"}  # about a whole folder: test_team_mistakes.py
    assert set(RULES) - covered - distribution - folder == {"not-modelled", "not-read", "lock-differs"}  # with a database


def test_every_rule_module_documents_a_bad_and_a_good_example() -> None:
    modules = [m for m in (ROOT / "schema_tools" / "linter" / "rules").glob("*.py") if m.name != "__init__.py"]
    assert len(modules) >= 14  # the folder was renamed once and this test went on checking nothing
    for module in modules:
        text = module.read_text()
        assert "Bad" in text and "Good" in text, module.name


def test_our_migrations_lint_clean(cli: Cli) -> None:
    result = cli("lint")
    assert result.code == 0, result.out
    assert "no problems" in result.out


CORPUS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS billing;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE billing.accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
    slug text GENERATED ALWAYS AS (lower(name)) STORED, created_at timestamptz DEFAULT now());
CREATE TABLE measurements (city_id int NOT NULL, logdate date NOT NULL, peaktemp int) PARTITION BY RANGE (logdate);
CREATE TABLE measurements_y2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now(); -- semicolons; inside; the body
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_touch BEFORE UPDATE ON billing.accounts FOR EACH ROW EXECUTE FUNCTION touch();
DO $do$ BEGIN
    EXECUTE 'ALTER TABLE measurements ADD COLUMN note text';
END $do$;
COMMENT ON TABLE billing.accounts IS 'Accounts; one per customer';
COMMENT ON COLUMN billing.accounts.name IS $$it's the display name; unique-ish$$;
ALTER TABLE billing.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_owner ON billing.accounts USING (name = current_user);
CREATE VIEW v_accounts AS SELECT id, name FROM billing.accounts WHERE name <> ';';
CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM billing.accounts;
CREATE INDEX accounts_name_trgm ON billing.accounts USING gin (name gin_trgm_ops);
ALTER TYPE mood ADD VALUE 'ecstatic';
GRANT SELECT ON billing.accounts TO PUBLIC;
CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT a + b; END;
INSERT INTO billing.accounts (name) VALUES ('x; y'), (E'it\\'s');
WITH moved AS (DELETE FROM measurements RETURNING *) INSERT INTO measurements SELECT * FROM moved;
CREATE RULE r AS ON INSERT TO measurements DO ALSO (SELECT 1; SELECT 2);
ALTER TABLE billing.accounts ALTER COLUMN name SET STATISTICS 500;
ALTER TABLE billing.accounts ADD COLUMN tags text[] DEFAULT '{}', ADD COLUMN ts tsvector;
CREATE SEQUENCE s START 1;
SELECT setval('s', 42);
ALTER TABLE measurements DETACH PARTITION measurements_y2026;
DROP VIEW v_accounts;
"""


def test_lint_never_raises_on_sql_postgresql_accepts(empty_db_url: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(empty_db_url, autocommit=True) as conn:  # PostgreSQL accepts every statement
        conn.execute(CORPUS.encode())
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_corpus.sql").write_text(CORPUS)
    (folder / "0001_corpus.rollback.sql").write_text("SELECT 1;\n")
    from schema_tools.migration_files.read import read_folder

    report = lint_migrations(read_folder(folder))
    notes = [f for f in report.findings if f.severity is Severity.NOTE]
    assert any("not modelled" in f.message for f in notes)  # the DO block, kept and reported
    assert all(f.file and f.line for f in report.findings)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "junit"])
def test_lint_output_formats(cli: Cli, fmt: str) -> None:
    result = cli("lint", str(LINT_FIXTURES.parent / "history"), "--format", fmt)
    assert result.code == 1
    if fmt in ("json", "sarif"):
        json.loads(result.out)
    assert "constraint-not-valid" in result.out


def test_lint_text_is_file_line_col_rule_message(cli: Cli) -> None:
    result = cli("lint", str(FIXTURES / "history"))
    assert re.search(r"^tests/fixtures/history/0005_backfill\.sql:\d+:1: error constraint-not-valid: ", result.out,
                     re.M), result.out  # relative to the current folder (the checkout)
    assert "    fix: add it NOT VALID" in result.out


def test_lint_bad_path_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = cli("lint", str(tmp_path / "notes.txt"))
    assert result.code == 2 and "not a migration file or folder" in result.err


def test_lint_settings_disable_and_warn(tmp_path: Path) -> None:
    migrations, _ = fixture_migrations(LINT_FIXTURES / "rename.sql")
    assert lint_migrations(migrations, disabled=["rename"]).findings == []
    warned = lint_migrations(migrations, warn=["rename"])
    assert {f.severity for f in warned.findings} == {Severity.WARNING} and warned.exit_code == 0


def test_the_cache_skips_an_unchanged_history_and_relints_an_edited_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, cache, parsed = _history_with_cache(tmp_path, monkeypatch)
    cold = lint_migrations(read_folder(folder), cache=cache)
    assert len(parsed) == 5
    parsed.clear()
    warm = lint_migrations(read_folder(folder), cache=cache)
    assert parsed == [] and warm.findings == cold.findings

    last = folder / "0005_backfill.sql"
    last.write_text(last.read_text() + "CREATE INDEX tickets_title_idx ON tickets (title);\n")
    edited = lint_migrations(read_folder(folder), cache=cache)
    assert parsed == ["0005_backfill"]  # the state before it came from the cache
    assert {f.rule for f in edited.findings} - {f.rule for f in cold.findings} == {"index-not-concurrently"}

    parsed.clear()
    first = folder / "0001_extensions_types.sql"
    first.write_text(first.read_text().replace("name text NOT NULL", "name varchar(20) NOT NULL"))
    changed = lint_migrations(read_folder(folder), cache=cache)
    assert len(parsed) == 5 and "varchar-n" in {f.rule for f in changed.findings}
    assert lint_migrations(read_folder(folder)).findings == changed.findings  # the same as without a cache


def _history_with_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[str]]:
    """A copy of the history fixture, a cache folder, and the ids of the migrations lint parses
    (``parse_migration`` counted where the linter calls it)."""
    import shutil

    from schema_tools.sqlmodel import Parsed, parse_migration

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "history", folder)
    parsed: list[str] = []

    def counted(m: Migration) -> list[Parsed]:
        parsed.append(m.id)
        return parse_migration(m)

    monkeypatch.setattr("schema_tools.linter.parse_migration", counted)
    return folder, tmp_path / "cache", parsed


def test_the_cache_is_json_data_and_a_bad_entry_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from schema_tools.linter.cache import FORMAT
    from schema_tools.migration_files.read import read_folder

    folder, cache, parsed = _history_with_cache(tmp_path, monkeypatch)
    truth = lint_migrations(read_folder(folder)).findings
    assert lint_migrations(read_folder(folder), cache=cache).findings == truth
    entries = sorted(cache.iterdir())
    assert [p.suffix for p in entries] == [".json", ".json"]
    assert all(json.loads(p.read_text())["format"] for p in entries)  # plain data
    final = next(p for p in entries if p.name.endswith(".final.json"))
    state = next(p for p in entries if p.name.endswith(".state.json"))
    good_final, good_state = final.read_text(), state.read_text()
    (cache / "planted.pickle").write_bytes(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.")  # never read; removed

    short = json.loads(good_final)  # a finding one field short
    first = next(findings for findings in short["value"][0].values() if findings)
    first[0].popitem()
    for damage in ("{not json", json.dumps({"format": FORMAT, "key": "x", "kind": "final", "value": [1, 2, 3]}),
                   json.dumps(short), good_final.replace('"error"', '"fatal"')):
        final.write_text(damage)
        state.write_text("[]")
        parsed.clear()
        assert lint_migrations(read_folder(folder), cache=cache).findings == truth
        assert len(parsed) == 5  # nothing trusted: every migration parsed again
    assert not (cache / "planted.pickle").exists()

    # A final entry written under another key ("foreign") is not taken: the state before the
    # last migration (valid, rebuilt above) is, so only the last migration is parsed again.
    other = json.loads(good_state)
    final.write_text(json.dumps({**json.loads(good_final), "key": other["key"]}))
    parsed.clear()
    assert lint_migrations(read_folder(folder), cache=cache).findings == truth
    assert parsed == ["0005_backfill"]


def test_the_cache_key_follows_the_parser_s_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from schema_tools.linter import cache as lint_cache
    from schema_tools.migration_files.read import read_folder
    from schema_tools.sql import grammar

    folder, cache, parsed = _history_with_cache(tmp_path, monkeypatch)
    lint_migrations(read_folder(folder), cache=cache)
    parsed.clear()
    lint_cache._code_version.cache_clear()
    assert grammar.pglast_version().startswith("v")  # read from pglast's files, not imported
    monkeypatch.setattr(grammar, "pglast_version", lambda: "v0.0-other")
    try:
        lint_migrations(read_folder(folder), cache=cache)
    finally:
        lint_cache._code_version.cache_clear()
    assert len(parsed) == 5


def test_no_pickle_anywhere_in_the_packages() -> None:
    from conftest import ROOT

    users = [str(p.relative_to(ROOT)) for folder in ("schema_tools", "ralph") for p in (ROOT / folder).rglob("*.py")
             if "pickle" in p.read_text()]
    assert users == []


def migrations_of(tmp_path: Path, *bodies: str) -> Sequence[Migration]:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    for n, body in enumerate(bodies, 1):
        (folder / f"{n:04d}_m.sql").write_text(body)
        (folder / f"{n:04d}_m.rollback.sql").write_text("SELECT 1;\n")
    return read_folder(folder)


def test_renamed_indexes_and_constraints_are_named_by_their_new_names(tmp_path: Path) -> None:
    migrations = migrations_of(
        tmp_path,
        "CREATE TABLE events (id bigint PRIMARY KEY, tenant_id bigint, period date);\n"
        "CREATE INDEX events_tenant_period_idx ON events (tenant_id, period);\n"
        "CREATE INDEX events_tenant_idx ON events (tenant_id);\n",
        "ALTER INDEX events_tenant_idx RENAME TO events_by_tenant;\n"
        "ALTER TABLE events RENAME CONSTRAINT events_pkey TO events_pk;\n")
    redundant = [f for f in lint_migrations(migrations).findings if f.rule == "redundant-index"]
    assert [f.object for f in redundant] == ["events_by_tenant"], redundant
    assert redundant[0].file is not None and redundant[0].file.endswith("0001_m.sql") and redundant[0].line == 3
    from schema_tools.sqlmodel import declare

    table = declare(migrations).catalog().tables["events"]
    assert table.primary_key is not None and table.primary_key.name == "events_pk"
    assert {i.name for i in table.indexes} == {"events_pk", "events_tenant_period_idx", "events_by_tenant"}


def test_version_dependent_rules_follow_the_postgres_setting(tmp_path: Path) -> None:
    migrations = migrations_of(tmp_path, "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                               "-- lock_timeout: 2s\nALTER TABLE orders ADD COLUMN status text DEFAULT 'new';\n")

    def rules(postgres: int) -> list[str]:
        return [f.rule for f in lint_migrations(migrations, postgres=postgres).findings]

    assert "add-column-rewrites-table" in rules(10)
    assert "add-column-rewrites-table" not in rules(11) and "add-column-rewrites-table" not in rules(15)


@pytest.mark.parametrize("value,message", [("9", "from 10 to 18"), ("'15'", "from 10 to 18"), ("true", "from 10 to 18")])
def test_the_postgres_setting_is_checked(tmp_path: Path, value: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.schema_tools]\npostgres = {value}\n")
    with pytest.raises(ConfigError, match=rf"pyproject\.toml:2: .*postgres.*{message}"):
        load_settings(cwd=tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\npostgres = 12\n")
    assert load_settings(cwd=tmp_path).postgres == 12


def test_the_rewrite_rule_says_what_the_server_does(db_url: str) -> None:
    """The rule's claim, checked on the real server: a volatile default (gen_random_uuid() too)
    gives the table a new file (rewritten); a stable or constant one does not."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE rewrite_probe (id int); INSERT INTO rewrite_probe SELECT generate_series(1, 100)")

        def node() -> object:
            return scalar(conn, "SELECT relfilenode FROM pg_class WHERE relname = 'rewrite_probe'")

        for default, rewrites in [("now()", False), ("'new'", False), ("gen_random_uuid()::text", True),
                                  ("clock_timestamp()::text", True), ("random()::text", True)]:
            before = node()
            conn.execute(f"ALTER TABLE rewrite_probe ADD COLUMN c{abs(hash(default)) % 10**6} text DEFAULT {default}")
            assert (node() != before) is rewrites, default
            flagged = lint_migrations(migrations_of_text(
                "CREATE TABLE t (id int);", f"ALTER TABLE t ADD COLUMN c text DEFAULT {default};")).findings
            assert any(f.rule == "add-column-rewrites-table" for f in flagged) is rewrites, default


def migrations_of_text(*bodies: str) -> Sequence[Migration]:
    import tempfile

    return migrations_of(Path(tempfile.mkdtemp()), *bodies)


def test_sql_that_does_not_parse_is_an_error(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "0001_bad.sql").write_text("CREATE TABLE ok (id int);\nCREATE TABLE (;\n")
    (folder / "0001_bad.rollback.sql").write_text("DROP TABLE ok;\n")
    result = cli("lint", "--migrations", str(folder))
    assert result.code == 1, result.out + result.err
    assert re.search(r"0001_bad\.sql:2:14: error syntax-error: syntax error at or near \"\(\"", result.out), result.out


def test_lint_of_a_file_is_not_refused_for_an_unrelated_python_file(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE a (id bigint PRIMARY KEY);\n", "DROP TABLE a;\n")
    write_migration(folder, "0002_b", "-- depends: 0001_a\n-- lock_timeout: 2s\nCREATE INDEX a_id ON a (id);\n",
                    "DROP INDEX a_id;\n")
    (folder / "helper.py").write_text("print('a helper, not a migration')\n")
    result = cli("lint", str(folder / "0002_b.sql"))
    assert result.code == 1, result.err  # linted, with the history: the index on an existing table is found
    assert "index-not-concurrently" in result.out and "note not-read: helper.py is a Python file" in result.out
    assert cli("migrate", "--migrations", str(folder), "--database", "postgresql://nobody@127.0.0.1:1/x").code == 2


def test_lint_with_a_database_at_hand_reports_locks_the_static_table_gets_wrong(cli: Cli, empty_db_url: str,
                                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_migration(folder, "0001_base", LOCKING_TRIGGER)
    write_migration(folder, "0002_seed", "-- depends: 0001_base\n-- lock_timeout: 2s\nINSERT INTO person VALUES (1);\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder), "--to", "0001_base").code == 0
    plain = cli("lint", "--migrations", str(folder))
    assert "lock-differs" not in plain.out
    traced = cli("lint", "--migrations", str(folder), "--trace-locks", empty_db_url)
    assert traced.code == 0, traced.err  # a warning
    assert re.search(r"0002_seed\.sql:3:1: warning lock-differs: observed EXCLUSIVE on public\.team; ROW EXCLUSIVE on "
                     r"public\.person, where the static lock table says ROW EXCLUSIVE", traced.out), traced.out


@pytest.mark.parametrize(("depth", "recursion_limit"), [(400, 300), (2000, None), (20000, None)])
def test_a_statement_nested_too_deeply_is_noted_never_a_crash_and_later_findings_still_come(
        tmp_path: Path, depth: int, recursion_limit: int | None) -> None:
    """PostgreSQL accepts all three. The deep two nest deeper than the parse tree's JSON may; the
    first is read, then walked deeper than Python recurses (the limit lowered to make sure)."""
    import sys

    migrations = migrations_of(tmp_path, "CREATE TABLE t (id int, x int);\n",
                               f"ALTER TABLE t ADD COLUMN c int DEFAULT ({'1' + '+(1' * depth + ')' * depth});\n"
                               "CREATE INDEX t_x ON t (x);\n")
    for m in migrations:
        _ = m.statements  # split before the limit is lowered: the harm is in the walk, not in reading files
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit or before)
    try:
        report = lint_migrations(migrations)
    finally:
        sys.setrecursionlimit(before)
    found = {(f.rule, f.line) for f in report.findings}
    assert ("not-modelled", 1) in found and ("index-not-concurrently", 2) in found


ALTERS = """
ALTER TABLE t ADD COLUMN a text NOT NULL;
ALTER TABLE t ADD COLUMN b uuid DEFAULT gen_random_uuid() UNIQUE REFERENCES u (id) CHECK (b IS NOT NULL);
ALTER TABLE t ADD COLUMN c varchar(9), ADD COLUMN d timestamp, ADD COLUMN e serial;
ALTER TABLE t ADD CONSTRAINT t_k UNIQUE (k), ADD CONSTRAINT t_f FOREIGN KEY (k) REFERENCES u (id);
ALTER TABLE t ADD CONSTRAINT t_x EXCLUDE USING gist (k WITH =), ADD PRIMARY KEY (k);
ALTER TABLE t ALTER COLUMN k TYPE bigint, ALTER COLUMN k SET NOT NULL, DROP COLUMN z;
ALTER TABLE t DETACH PARTITION p CONCURRENTLY;
ALTER TABLE t ALTER COLUMN k SET DEFAULT 1, ADD CONSTRAINT t_c CHECK (k > 0), VALIDATE CONSTRAINT t_c;
ALTER TABLE t ENABLE ROW LEVEL SECURITY, ALTER COLUMN k DROP NOT NULL, SET UNLOGGED;
ALTER INDEX i SET (fillfactor = 50);
"""


def test_an_alter_table_rule_is_asked_only_about_the_subcommands_it_reads(tmp_path: Path) -> None:
    """rules_for gives an ALTER TABLE only the rules whose SUBCOMMANDS it holds: every rule left
    out finds nothing in it (each statement on a table an earlier migration created)."""
    from schema_tools.linter import RULES_BY_KIND, LintState, lint_one, rules_for
    from schema_tools.linter.context import Context
    from schema_tools.sqlmodel import parse_migration

    migrations = migrations_of(tmp_path, "CREATE TABLE u (id bigint PRIMARY KEY);\nCREATE TABLE t (k int, z int);\n",
                               "-- transactional: true\n" + ALTERS)
    state = LintState()
    lint_one(state, migrations[0])
    parsed = parse_migration(migrations[1])
    assert [p.kind for p in parsed] == ["AlterTableStmt"] * 10
    chosen = 0
    for p in parsed:
        context = Context(p, state.schema)
        left_out = [rule for rule in RULES_BY_KIND["AlterTableStmt"] if rule not in rules_for(p)]
        assert [f for rule in left_out for f in rule.check(context)] == [], p.statement.sql
        chosen += len(rules_for(p))
    assert chosen > 10  # the rules that read them are asked


def test_the_planner_uses_a_partial_not_null_index_for_a_foreign_key_lookup(empty_db_url: str) -> None:
    """What fk-not-indexed's near miss rests on, asked of the server: the lookup a referenced row's
    delete runs (``WHERE col = $1``) uses the index ``WHERE col IS NOT NULL``, not ``WHERE open``."""
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE c (id bigint PRIMARY KEY); CREATE TABLE r (id bigint, c_id bigint REFERENCES c, "
                     "open boolean); CREATE INDEX r_nn ON r (c_id) WHERE c_id IS NOT NULL; "
                     "CREATE INDEX r_open ON r (c_id) WHERE open; SET enable_seqscan = off; "
                     "PREPARE lookup(bigint) AS SELECT 1 FROM ONLY r x WHERE $1 OPERATOR(pg_catalog.=) c_id FOR KEY SHARE OF x; "
                     "SET plan_cache_mode = force_generic_plan")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN EXECUTE lookup(1)").fetchall())
    assert "r_nn" in plan and "r_open" not in plan, plan
