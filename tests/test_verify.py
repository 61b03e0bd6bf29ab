"""verify: expectations and invariants against the live catalog; mutations it must catch; outputs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import psycopg
import pytest

from conftest import FIXTURES, MIGRATIONS, ROOT, Cli, Cluster, settings_for
from schema_tools import Report, commands
from schema_tools.catalog.read import read_catalog
from schema_tools.commands import verify
from schema_tools.errors import ConfigError
from schema_tools.expect.check import check_invariants
from schema_tools.expect.parse import expectations_in
from schema_tools.findings import render
from schema_tools.sql.typenames import normal_type

STORIES = ROOT / "ralph" / "stories.toml"


def test_the_migrated_database_passes_every_expectation_and_invariant(cli: Cli, db_url: str) -> None:
    result = cli("verify", "--database", db_url, "--expect", str(STORIES))
    assert result.code == 0, result.out
    report = verify(settings_for(db_url), [STORIES])
    assert report.findings == []
    assert len(report.checks) > 100  # every column, key, index and value the stories state


# --- invariants: a schema that breaks each, and a near miss that must not fire -------------

INVARIANT_CASES = {
    "fk-indexed": (
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);",
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);"
        "CREATE INDEX c_p_id_created ON c (p_id, id);",
        "c.c_p_id_fkey"),
    "redundant-index": (
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int); CREATE INDEX t_a ON t (a); CREATE INDEX t_a_b ON t (a, b);",
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int); CREATE UNIQUE INDEX t_a ON t (a); CREATE INDEX t_a_b ON t (a, b);"
        "CREATE INDEX t_b_partial ON t (b) WHERE a > 0; CREATE INDEX t_b_a ON t (b, a);",
        "t_a"),
    "invalid-index": (
        "CREATE TABLE t (id int PRIMARY KEY, a int); INSERT INTO t VALUES (1, 1), (2, 1);",
        "CREATE TABLE t (id int PRIMARY KEY, a int); CREATE INDEX t_a ON t (a);",
        "t_a_key"),
    "primary-key": (
        "CREATE TABLE t (a int UNIQUE);",
        "CREATE TABLE t (a int PRIMARY KEY);",
        "t"),
    "timestamptz": (
        "CREATE TABLE t (id int PRIMARY KEY, at timestamp);",
        "CREATE TABLE t (id int PRIMARY KEY, at timestamptz, d date, tm time);",
        "t.at"),
    "not-valid": (
        "CREATE TABLE t (id int PRIMARY KEY, a int); ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0) NOT VALID;",
        "CREATE TABLE t (id int PRIMARY KEY, a int); ALTER TABLE t ADD CONSTRAINT a_pos CHECK (a > 0) NOT VALID;"
        "ALTER TABLE t VALIDATE CONSTRAINT a_pos;",
        "a_pos"),
    "no-rules": (
        "CREATE TABLE t (id int PRIMARY KEY); CREATE RULE t_swallow AS ON INSERT TO t DO INSTEAD NOTHING;",
        "CREATE TABLE t (id int PRIMARY KEY); CREATE VIEW v AS SELECT id FROM t;",  # a view's _RETURN is no rule
        "t.t_swallow"),
}


def findings_of(url: str, sql: str, rule: str, bad: bool = False) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)
        if rule == "invalid-index" and bad:  # a concurrent build that fails leaves an INVALID index
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)")
        catalog = read_catalog(conn)
    checks = [c for c in check_invariants(catalog) if c.name == rule or c.name.startswith(f"{rule}: ")]
    assert checks, rule
    return [f.object for c in checks for f in c.findings]


@pytest.mark.parametrize("rule", sorted(INVARIANT_CASES))
def test_invariant_finds_the_break(rule: str, empty_db_url: str) -> None:
    bad, _, obj = INVARIANT_CASES[rule]
    assert findings_of(empty_db_url, bad, rule, bad=True) == [obj]


@pytest.mark.parametrize("rule", sorted(INVARIANT_CASES))
def test_invariant_stays_silent_on_the_near_miss(rule: str, empty_db_url: str) -> None:
    _, good, _ = INVARIANT_CASES[rule]
    assert findings_of(empty_db_url, good, rule) == []


def test_an_invariant_can_be_switched_off(empty_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (at timestamp)")
        catalog = read_catalog(conn)
    names = [c.name for c in check_invariants(catalog, disabled=["timestamptz", "primary-key"])]
    assert "timestamptz" not in names and "primary-key" not in names and "fk-indexed" in names
    with pytest.raises(ConfigError, match="unknown invariant 'timestamps'"):
        check_invariants(catalog, disabled=["timestamps"])


# --- mutation test: single changes to migrations/ that verify must catch and name ------------

MUTATIONS = [
    ("drop an index", "0003", "CREATE INDEX api_keys_status_idx ON api_keys (status);", "", "indexed", "api_keys(status)"),
    ("drop a unique", "0002", "CONSTRAINT sessions_user_id_tenant_id_service_key UNIQUE (user_id, tenant_id, service),", "",
     "unique", "sessions(user_id, tenant_id, service)"),
    ("change an ON DELETE", "0003", "REFERENCES users (id) ON DELETE SET NULL,\n    created_at",
     "REFERENCES users (id) ON DELETE CASCADE,\n    created_at", "foreign-key", "api_keys(created_by)"),
    ("change a type", "0003", "quantity        bigint NOT NULL", "quantity        integer NOT NULL", "column",
     "usage_events.quantity"),
    ("relax a NOT NULL", "0002", "name               text NOT NULL", "name               text", "column", "tenants.name"),
    ("drop a CHECK value", "0002", "role IN ('owner', 'admin', 'member')", "role IN ('owner', 'admin')",
     "allowed-values", "tenant_users.role"),
    ("add a CHECK value", "0003", "status IN ('active', 'revoked')", "status IN ('active', 'revoked', 'paused')",
     "allowed-values", "api_keys.status"),
    ("add a redundant index", "0003", "CREATE INDEX usage_events_api_key_id_idx",
     "CREATE INDEX usage_events_tenant_id_idx ON usage_events (tenant_id);\nCREATE INDEX usage_events_api_key_id_idx",
     "redundant-index", "usage_events_tenant_id_idx"),
    ("drop an FK index", "0002", "CREATE INDEX tenant_users_user_id_idx ON tenant_users (user_id);", "",
     "fk-indexed", "tenant_users.tenant_users_user_id_fkey"),
    ("timestamp without time zone", "0002", "expires_at         timestamptz NOT NULL",
     "expires_at         timestamp NOT NULL", "timestamptz", "sessions.expires_at"),
    ("drop a primary key", "0002", "    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),\n    created_at timestamptz NOT NULL DEFAULT now(),\n    PRIMARY KEY (tenant_id, user_id)",
     "    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),\n    created_at timestamptz NOT NULL DEFAULT now()",
     "primary-key", "tenant_users"),
    ("drop the idempotency unique", "0003", "idempotency_key text NOT NULL UNIQUE", "idempotency_key text NOT NULL",
     "unique", "usage_events(idempotency_key)"),
    ("add a column", "0002", "global_quota_limit bigint CHECK", "plan text,\n    global_quota_limit bigint CHECK",
     "only-columns", "tenants"),
    ("drop a column", "0002", "    device_info        text CHECK (length(device_info) <= 1000),\n", "", "column",
     "sessions.device_info"),
    ("rename a column", "0003", "last_used_at timestamptz,", "last_used timestamptz,", "column", "api_keys.last_used_at"),
    ("change a default", "0003", "DEFAULT 'month'", "DEFAULT 'day'", "column", "api_keys.quota_period"),
    ("drop a foreign key", "0003", "user_id         bigint REFERENCES users (id) ON DELETE SET NULL,",
     "user_id         bigint,", "foreign-key", "usage_events(user_id)"),
    ("make a unique index plain", "0001", "CREATE UNIQUE INDEX users_email_lower_key", "CREATE INDEX users_email_lower_key",
     "index", "users_email_lower_key"),
    ("reorder a composite index", "0003", "ON usage_events (tenant_id, period)", "ON usage_events (period, tenant_id)",
     "indexed", "usage_events(tenant_id, period)"),
    ("json instead of jsonb", "0003", "scopes       jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(scopes) = 'array')",
     "scopes       json NOT NULL DEFAULT '[]'::json CHECK (json_typeof(scopes) = 'array')", "column", "api_keys.scopes"),
    ("serial instead of identity", "0001", "id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
     "id           bigserial PRIMARY KEY", "column", "users.id"),
    ("ON DELETE on billing history", "0003", "REFERENCES api_keys (id) ON DELETE NO ACTION",
     "REFERENCES api_keys (id) ON DELETE CASCADE", "foreign-key", "usage_events(api_key_id)"),
    ("drop the token-hash unique", "0002", "refresh_token_hash text NOT NULL UNIQUE CHECK",
     "refresh_token_hash text NOT NULL CHECK", "unique", "sessions(refresh_token_hash)"),
    ("leave a constraint NOT VALID", "0003", "CREATE INDEX usage_events_api_key_id_idx",
     "ALTER TABLE usage_events ADD CONSTRAINT usage_events_action_short CHECK (length(action) < 50) NOT VALID;\n"
     "CREATE INDEX usage_events_api_key_id_idx", "not-valid", "usage_events_action_short"),
]


@pytest.mark.parametrize("what,file,old,new,rule,obj", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_verify_catches_the_mutation_and_names_the_object(what: str, file: str, old: str, new: str, rule: str, obj: str,
                                                          empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    path = next(folder.glob(f"{file}_*[!k].sql"))
    text = path.read_text()
    assert text.count(old) == 1, f"mutation {what!r} does not apply"
    path.write_text(text.replace(old, new))
    commands.migrate(settings_for(empty_db_url, folder))
    report = verify(settings_for(empty_db_url), [STORIES])
    assert report.exit_code == 1
    assert obj in [f.object for f in report.findings if f.rule == rule], render(report, "text")


def test_there_are_at_least_twenty_mutations() -> None:
    assert len(MUTATIONS) >= 20


# --- output formats ---------------------------------------------------------------------


@pytest.fixture
def broken_report(db_url: str) -> Report:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP INDEX api_keys_status_idx")
        conn.execute("ALTER TABLE sessions ALTER COLUMN device_info TYPE varchar(100)")
        conn.execute("CREATE INDEX usage_events_tenant_id_idx ON usage_events (tenant_id)")
    return verify(settings_for(db_url), [STORIES])


def test_junit_has_one_testcase_per_fact_and_the_right_failures(broken_report: Report) -> None:
    root = ET.fromstring(render(broken_report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("tests", "0")) == len(cases) == len(broken_report.checks)
    assert int(suite.get("failures", "0")) == len(failed) == 3
    assert sorted(c.get("name", "") for c in failed) == ["api_keys indexed on (status)", "redundant-index: usage_events",
                                                     "sessions.device_info text"]


def test_text_groups_invariant_findings_under_their_table(broken_report: Report) -> None:
    text = render(broken_report, "text").splitlines()
    heading = next(i for i, line in enumerate(text) if line.endswith("usage_events") and not line.startswith(" "))
    assert text[heading + 1].startswith("  error redundant-index: "), text[heading:heading + 3]
    assert "invariants" not in text  # no catch-all heading for what belongs to a table


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    """The SARIF 2.1.0 JSON schema, vendored (tests/fixtures/sarif/README.md says where from)."""
    schema: dict[str, Any] = json.loads((FIXTURES / "sarif" / "sarif-2.1.0-rtm.5.json").read_text())
    return schema


def test_sarif_validates_against_the_sarif_schema(broken_report: Report, sarif_schema: dict[str, Any]) -> None:
    document = json.loads(render(broken_report, "sarif"))
    jsonschema.validators.validator_for(sarif_schema)(sarif_schema).validate(document)
    assert len(document["runs"][0]["results"]) == 3
    with pytest.raises(jsonschema.ValidationError):  # the validator does reject a broken document
        document["runs"][0]["results"][0]["level"] = "fatal"
        jsonschema.validators.validator_for(sarif_schema)(sarif_schema).validate(document)


def test_github_lines_follow_the_workflow_command_syntax(broken_report: Report) -> None:
    lines = render(broken_report, "github").splitlines()
    assert len(lines) == 3
    pattern = re.compile(r"^::(error|warning|notice)( [a-z]+=[^,:]*(,[a-z]+=[^,:]*)*)?::[^\r\n]+$")
    assert all(pattern.match(line) for line in lines), lines
    assert any(line.startswith("::error file=") and ",line=" in line for line in lines)


def test_text_groups_findings_by_table_with_the_fix(broken_report: Report) -> None:
    text = render(broken_report, "text")
    assert "SCHEMA-002: api_keys\n  error indexed: no valid index on api_keys leads with (status)\n      fix: " in text
    assert text.rstrip().endswith("verify: " + str(len(broken_report.checks)) + " checks, 3 errors")


# --- expectation files ------------------------------------------------------------------


@pytest.mark.parametrize("body,message", [
    ("[tables.t]\ncolumn = ['a']\n", "x.toml:2: unknown key 'column' in tables.t"),
    ("[tables.t]\ncolumns = ['a']\nindexed = 'a'\n", "x.toml:3: t.indexed must be a list"),
    ("[tables.t]\nforeign_keys = [{columns = ['a'], references = 'u'}]\n",
     "x.toml:2: t.foreign_keys.references = 'u' is not \"table(column, ...)\""),
    ("[tables.t]\ncolumns = ['a']\nforeign_keys = [{columns = ['a']}]\n", "x.toml:3: t.foreign_keys entry needs references"),
    ("[stories]\nx = 1\n", "x.toml:1: stories must be an array of [[stories]] tables"),
    ("[tables.t]\ncolumns = ['a']\n\n[tables.t.indexes.i]\nkeys = ['a']\nunique = 'yes'\n",
     "x.toml:6: t.indexes.i.unique must be true or false"),
    ("[tables.t]\nforeign_keys = [{columns = ['a'], references = 'u(id)', on_delete = 'explode'}]\n",
     "on_delete = 'explode' is not an action"),
    ("[tables.t]\ncolumns.a = {type = 'int', nullable = 'yes'}\n", "columns.a.nullable must be true or false"),
    ("[tables.t]\nallowed_values.a = 'x'\n", "t.allowed_values must map columns to lists"),
    ("[tables.t\ncolumns = []\n", "not valid TOML"),
    ("# views\n[views.v]\n", "x.toml:2: unknown key 'views'"),
])
def test_malformed_expectations_are_refused_with_file_line_and_fix(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        expectations_in(path)
    assert message in caught.value.one_line()
    assert caught.value.hint


def test_cli_bad_expectation_file_is_exit_2(cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[tables.users]\nonly_columns = 'yes'\n")
    result = cli("verify", "--database", db_url, "--expect", str(path))
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"{path}:2: users.only_columns must be true or false" in result.err


@pytest.mark.parametrize("written,catalog", [
    ("int8", "bigint"), ("timestamptz", "timestamp with time zone"), ("varchar(20)", "character varying(20)"),
    ("timestamptz(3)", "timestamp(3) with time zone"), ("INT", "integer"), ("text[]", "text[]"), ("numeric(10, 2)", "numeric(10,2)"),
])
def test_type_spellings_compare_by_meaning(written: str, catalog: str) -> None:
    assert normal_type(written) == normal_type(catalog)


def test_pytest_plugin_fails_a_users_test_with_the_findings(pytester: pytest.Pytester, db_url: str) -> None:
    good = pytester.path / "good.toml"
    good.write_text("[tables.users]\ncolumns = ['id', 'email']\nprimary_key = ['id']\n")
    bad = pytester.path / "bad.toml"
    bad.write_text("[tables.users]\ncolumns = ['id', 'nickname']\n")
    pytester.makepyfile(f"""
        import psycopg

        def test_good(verify_schema):
            report = verify_schema({db_url!r}, expect=[{str(good)!r}])
            assert len(report.checks) > 3

        def test_bad(verify_schema):
            with psycopg.connect({db_url!r}) as conn:
                verify_schema(conn, expect=[{str(bad)!r}], invariants=False)
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*column users.nickname does not exist*"])


TRIGGER_SQL = """
CREATE TABLE t (id int PRIMARY KEY, at timestamptz);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$;
CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER t_audit AFTER DELETE ON t FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE t DISABLE TRIGGER t_audit;
"""


@pytest.mark.parametrize("declared,problem", [
    ('["t_touch", "t_audit"]', "t: disabled trigger t_audit"),
    ('["t_touch"]', "t: unexpected trigger t_audit"),
    ('["t_touch", "t_audit", "t_gone"]', "t: missing trigger t_gone; disabled trigger t_audit"),
    ("[]", "t: unexpected trigger t_audit, t_touch"),
])
def test_declared_triggers_are_exactly_the_table_s(empty_db_url: str, tmp_path: Path, declared: str, problem: str) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(TRIGGER_SQL)
    path = tmp_path / "t.toml"
    path.write_text(f"[tables.t]\ncolumns = ['id']\ntriggers = {declared}\n")
    report = verify(settings_for(empty_db_url), [path], invariants=False)
    assert [f.message for f in report.errors] == [problem]
    path.write_text("[tables.t]\ncolumns = ['id']\n")  # not declared: not checked
    assert verify(settings_for(empty_db_url), [path], invariants=False).errors == []


def test_a_missing_table_is_one_error_and_its_other_checks_are_skipped_not_passed() -> None:
    from schema_tools import Catalog, load_expectations, verify_catalog
    from schema_tools.findings import render

    expectations = load_expectations([ROOT / "ralph" / "stories.toml"])
    report = verify_catalog(Catalog({}), expectations, invariants=False)
    missing = [f.message for f in report.errors]
    tables = sorted({e.table for e in expectations})
    assert sorted(missing) == sorted(f"table {t} does not exist" for t in tables)  # once each, not once per check
    skipped = [c for c in report.checks if c.skipped]
    assert skipped and not any(c.passed for c in report.checks)
    text = render(report, "text")
    assert text.count("does not exist") == 2 * len(tables), text  # the error, and the 'not checked' line per table


def test_each_finding_s_hint_is_the_statement_that_fixes_it(tmp_path: Path) -> None:
    from schema_tools import Catalog, load_expectations, verify_catalog
    from schema_tools.catalog.model import Column, Table

    expect = tmp_path / "expect.toml"
    expect.write_text('[tables."Odd"]\nunique = [["a", "b"]]\nindexed = ["b"]\nallowed_values.a = ["x"]\n'
                      'checks = ["b > 0"]\nprimary_key = ["a"]\n')
    catalog = Catalog({"Odd": Table("public", "Odd", (Column("a", "text"), Column("b", "integer")))})
    hints = {f.rule: f.hint for f in verify_catalog(catalog, load_expectations([expect]), invariants=False).errors}
    assert hints == {
        "unique": 'ALTER TABLE "Odd" ADD UNIQUE (a, b);',
        "indexed": 'CREATE INDEX CONCURRENTLY ON "Odd" (b);',
        "allowed-values": 'ALTER TABLE "Odd" ADD CONSTRAINT ... CHECK (a IN (\'x\'))',
        "check": 'ALTER TABLE "Odd" ADD CHECK (b > 0) NOT VALID; then VALIDATE CONSTRAINT',
        "primary-key": "change the primary key in a new migration",
    }


def test_checks_are_verified_by_meaning_and_must_be_validated(empty_db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id bigint PRIMARY KEY, amount_cents bigint, period_start date, "
                     "period_end date, CONSTRAINT invoices_amount CHECK (amount_cents >= 0))")
        conn.execute("ALTER TABLE invoices ADD CONSTRAINT invoices_period CHECK (period_start < period_end) NOT VALID")
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.invoices]\nchecks = ["amount_cents >= 0", "period_end > period_start", '
                      '"amount_cents < 1000000"]\n')
    report = commands.verify(settings_for(empty_db_url), expect_files=[expect], invariants=False)
    problems = sorted(f.message for f in report.errors)
    assert problems == ["CHECK (period_end > period_start) on invoices is NOT VALID: existing rows were never checked",
                        "no CHECK (amount_cents < 1000000) on invoices"], problems
    assert next(f for f in report.errors if f.message.startswith("no CHECK")).line == 2
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE invoices VALIDATE CONSTRAINT invoices_period")
    again = commands.verify(settings_for(empty_db_url), expect_files=[expect], invariants=False)
    assert [f.message for f in again.errors] == ["no CHECK (amount_cents < 1000000) on invoices"]
    expect.write_text('[tables.invoices]\nchecks = "amount_cents >= 0"\n')
    with pytest.raises(ConfigError, match=r"expect\.toml:2: .*checks must be a list of CHECK expressions"):
        commands.verify(settings_for(empty_db_url), expect_files=[expect], invariants=False)


def test_the_readme_s_pytest_example_runs_as_printed(pytester: pytest.Pytester, cluster: Cluster) -> None:
    """The README's block, as it is, in a project of its own: the template database is migrated by
    load_migrations(), each test gets a copy, and verify_schema passes on it."""
    readme = (ROOT / "README.md").read_text().split("**From your own pytest suite**", 1)[1]
    block = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    assert "load_migrations()" in block and "def test_schema(verify_schema, postgresql)" in block
    shutil.copytree(MIGRATIONS, pytester.path / "migrations")
    shutil.copy(ROOT / "ralph" / "stories.toml", pytester.path / "schema.toml")
    (pytester.path / "pyproject.toml").write_text("[tool.schema_tools]\nmigrations = 'migrations'\n")
    (pytester.path / "test_schema.py").write_text(block)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--postgresql-host=127.0.0.1", f"--postgresql-port={cluster.port}",
        "--postgresql-user=postgres", f"--postgresql-password={cluster.password}", "--postgresql-dbname=readme")
    result.assert_outcomes(passed=1)
    with cluster.admin() as conn:  # the template and the copy are gone again
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'readme%'").fetchone() == (0,)
