"""ralph run against agents that lie, escape, reach for the target and leave things behind.

Each test plays one attack (tests/fake_agent.py) with a real server, and checks the four
promises: no false pass, the target unchanged by the agent (or, without a sandbox, the change
detected and nothing promoted), nothing of the agent running afterwards, and the harness's
files and code as they were."""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import HARNESS, MIGRATIONS, Cluster, settings_for
from schema_tools import commands
from test_ralph_run import AGENT, applied, project

HARNESS_CODE = HARNESS / "ralph"  # the code the ralph subprocesses run (conftest: a copy of the checkout's)
SITE = Path(site.getsitepackages()[0])


def attack(root: Path, url: str, mode: str, *args: str, sandbox: str = "auto", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"FAKE_AGENT_SOURCE": str(MIGRATIONS), "FAKE_AGENT_MODE": mode, "FAKE_AGENT_PROJECT": str(root),
                   "FAKE_AGENT_HARNESS": str(HARNESS_CODE), "FAKE_AGENT_SITE": str(SITE), **env}
    import os
    full = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | environment
    cmd = [sys.executable, "-m", "ralph", "run", "--database", url, "--agent", " ".join(AGENT), "--sandbox", sandbox,
           *args]
    return subprocess.run(cmd, cwd=root, env=full, text=True, capture_output=True, timeout=300)


def log_of(root: Path) -> str:
    return (root / "progress.log").read_text()


def agent_output(root: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((root / ".ralph" / "iterations").glob("*-agent.log")))


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / ".ralph" / "iterations").glob("*[0-9].json"))]


def with_schema_001(root: Path, url: str) -> None:
    """The target already holds SCHEMA-001 (its migrations, the only ones in the project yet)."""
    assert [m for m, _ in commands.migrate(settings_for(url, root / "migrations")).done] == \
        ["0001_users", "0002_core_tables"]


def snapshot(root: Path) -> dict[str, bytes]:
    files = [root / "ralph" / "stories.toml", root / "pyproject.toml", *sorted((root / "migrations").iterdir())]
    return {str(p): p.read_bytes() for p in files}


@pytest.fixture(autouse=True)
def harness_code_untouched() -> Iterator[None]:
    """Whatever an attack does, the harness's code and the interpreter's start-up hooks end as they began."""
    before = {p: p.read_bytes() for p in HARNESS_CODE.glob("*.py")}
    yield
    assert {p: p.read_bytes() for p in HARNESS_CODE.glob("*.py")} == before
    assert not (HARNESS_CODE / "planted.py").exists() and not (SITE / "zz_planted.pth").exists()
    assert not list((HARNESS_CODE / "__pycache__").glob("planted*"))


def test_the_honest_agent_carries_both_stories_in_the_sandbox(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    result = attack(root, empty_db_url, "good")
    assert result.returncode == 0, log_of(root)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    assert {r["agent"]["sandbox"] for r in records(root)} == {"bubblewrap"}
    assert records(root)[0]["agent"]["taken_back"] == ["0001_users.rollback.sql", "0001_users.sql",
                                                       "0002_core_tables.rollback.sql", "0002_core_tables.sql"]


def test_edits_in_its_own_copy_are_never_read(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    before = (root / "ralph" / "stories.toml").read_text()
    result = attack(root, empty_db_url, "tamper", "--story", "SCHEMA-001")
    assert result.returncode == 0, log_of(root)
    assert "trust me" not in log_of(root) and "COMPLETE" not in log_of(root)
    after = (root / "ralph" / "stories.toml").read_text()
    assert after.count("passes = true") == 1 and after.replace("passes = true", "passes = false", 1) == before
    assert "SCHEMA-001 completed" in log_of(root)  # passed by the harness's checks, not the agent's word


def test_an_edit_of_an_applied_migration_fails_the_iteration(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    files = snapshot(root)
    result = attack(root, empty_db_url, "edit-applied", "--max-iterations", "1")
    assert result.returncode == 1
    assert "the agent changed 0001_users.sql, but 0001_users is applied on the target (frozen)" in log_of(root)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]  # SCHEMA-002's migration not promoted
    assert {k: v for k, v in snapshot(root).items() if "stories" not in k} == \
        {k: v for k, v in files.items() if "stories" not in k}  # nothing taken back (the harness set passes)


def test_escape_in_the_sandbox_fails_at_every_step(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    pyproject = (root / "pyproject.toml").read_bytes()
    result = attack(root, empty_db_url, "escape", "--story", "SCHEMA-001")
    output = agent_output(root)
    assert re.findall(r"attack: .*: done", output) == [], output
    assert output.count(": failed (") == 8  # the project is not even visible; everything else is read-only
    assert result.returncode == 0  # what it may give (the story's own migrations) came back, and passed
    assert (root / "pyproject.toml").read_bytes() == pyproject
    assert (root / "migrations" / "0001_users.sql").read_bytes() == (MIGRATIONS / "0001_users.sql").read_bytes()
    assert log_of(root).startswith("[") and "tampering" not in log_of(root)


def test_escape_without_a_sandbox_is_undone_and_fails_the_iteration(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    files = snapshot(root)
    result = attack(root, empty_db_url, "escape", "--story", "SCHEMA-001", "--max-iterations", "1", sandbox="none")
    assert result.returncode == 1
    log = log_of(root)
    assert "Note: no sandbox" in log
    for changed in ("ralph/stories.toml", "pyproject.toml", "progress.log"):
        assert f"tampering: the agent changed {changed}, which the harness owns; restored" in log
    assert "tampering: the agent created" in log and "planted.py" in log and "zz_planted.pth" in log
    assert snapshot(root) == files  # restored; the story's migrations were not taken back
    assert applied(empty_db_url) == []


def test_the_target_is_out_of_reach_in_the_sandbox(cluster: Cluster, empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
        before = commands.schema_fingerprint_on(conn)
    result = attack(root, empty_db_url, "target", "--max-iterations", "1", FAKE_AGENT_TARGET_URL=empty_db_url)
    output = agent_output(root)
    assert "attack: connect to the target as the harness: failed" in output, output
    assert result.returncode == 0, log_of(root)  # the honest part passes
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert conn.execute("SELECT to_regclass('planted'), to_regproc('planted_fn')").fetchone() == (None, None)
        assert "tampering" not in log_of(root)
    assert before


def test_reaching_the_target_without_a_sandbox_is_detected_and_nothing_is_promoted(empty_db_url: str,
                                                                                   tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
    result = attack(root, empty_db_url, "target", "--max-iterations", "1", sandbox="none")
    assert result.returncode == 1
    output, log = agent_output(root), log_of(root)
    assert "attack: create a story table on the target: done" in output  # it ran as us: it could
    for change in ("its schema changed", "its migration history changed", r"\d+ row\(s\) were written"):
        assert re.search(f"tampering: on the target, {change} while the agent ran", log), log
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_the_scratch_login_gets_nothing_on_the_target(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    target_db = empty_db_url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
    result = attack(root, empty_db_url, "login-target", "--max-iterations", "1", sandbox="none",
                    FAKE_AGENT_TARGET_DB=target_db)
    output = agent_output(root)
    # its login lives on a throwaway cluster: the target's database is not even there (issue 29) ...
    assert "attack: use the scratch login on the target: failed" in output, output
    assert re.findall(r"attack: (create|plant|delete|forge).*: done", output) == [], output
    assert result.returncode == 0, log_of(root)  # ... so nothing touched the target, and its honest work passed
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert conn.execute("SELECT to_regclass('planted'), to_regproc('planted_fn')").fetchone() == (None, None)


def test_a_process_left_behind_is_killed_and_fails_the_iteration(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    before = (root / "ralph" / "stories.toml").read_text()
    result = attack(root, empty_db_url, "daemon", "--story", "SCHEMA-001", "--max-iterations", "1", sandbox="none")
    assert result.returncode == 1
    assert "tampering: a process outlived the agent and was killed" in log_of(root)
    time.sleep(1.5)  # when the daemon would have struck
    assert (root / "ralph" / "stories.toml").read_text() == before
    assert applied(empty_db_url) == []


@pytest.mark.parametrize("mode,finding", [
    ("regress", "not allowed: 0004_extra.sql:2: alters tenant_users, which SCHEMA-002 does not name"),
    ("rule", "not allowed: 0004_extra.sql:2: creates a rule (on usage_events), which no story may"),
    ("trigger", "verify: usage_events: unexpected trigger usage_events_noop"),
])
def test_a_migration_that_breaks_what_passed_or_hides_writes_is_not_promoted(empty_db_url: str, tmp_path: Path,
                                                                            mode: str, finding: str) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    result = attack(root, empty_db_url, mode, "--max-iterations", "1")
    assert result.returncode == 1
    assert finding in log_of(root), log_of(root)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'tenant_users_role_check'").fetchone() == (1,)


def test_a_migration_that_behaves_differently_on_the_target_is_undone_there(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    result = attack(root, empty_db_url, "two-faced", "--max-iterations", "1")
    assert result.returncode == 1
    log = log_of(root)
    assert "target: verify: nothing makes (key_hash) unique on api_keys" in log, log
    assert "the target is as it was" in log
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('api_keys')").fetchone() == (None,)


def test_the_agent_s_output_keeps_no_password(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    attack(root, empty_db_url, "leak", "--story", "SCHEMA-001", "--max-iterations", "1")
    output = agent_output(root)
    assert re.search(r"my database: postgresql://schema_tools_agent_\w+:\*\*\*@", output), output


def test_identical_timeouts_stop_the_run(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    result = attack(root, empty_db_url, "sleep", "--agent-timeout", "1", sandbox="none",
                    FAKE_AGENT_MARKER=str(tmp_path / "marker"))
    assert result.returncode == 1
    log = log_of(root)
    assert log.count("    - agent: timed out after 1s") == 3
    assert "failed the same way 3 times in a row" in log


def test_a_story_with_nothing_checkable_is_refused_before_the_run(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "ralph" / "stories.toml").write_text('[[stories]]\nid = "S-1"\ntitle = "vague"\ncriteria = ["works"]\n')
    result = attack(root, empty_db_url, "good")
    assert result.returncode == 2 and "S-1 has nothing the harness can check" in result.stderr
    assert not (root / "progress.log").exists()


@pytest.mark.parametrize("mode", ["server-code", "two-faced-code"])
def test_a_migration_never_runs_programs_on_the_server_nor_makes_roles(empty_db_url: str, tmp_path: Path,
                                                                        mode: str) -> None:
    """Agent-written SQL runs a program as the server's account (outside any sandbox) and makes a
    superuser: in the shadow, or only on the target, where the shadow cannot see it."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    reachable = Path(tempfile.mkdtemp(prefix="ralph-marker-"))
    reachable.chmod(0o777)  # the server's account could write the marker here
    marker = reachable / "the-server-ran-it"
    try:
        result = attack(root, empty_db_url, mode, "--max-iterations", "1", FAKE_AGENT_MARKER=str(marker))
        assert not marker.exists()
        with psycopg.connect(empty_db_url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'planted_superuser'").fetchone() == (0,)
        assert result.returncode == 1, log_of(root)
        assert "0004_extra" in log_of(root) and "server" in log_of(root), log_of(root)
        assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    finally:
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS planted_superuser")
        shutil.rmtree(reachable, ignore_errors=True)


def test_agent_written_sql_runs_in_the_shadow_without_superuser(empty_db_url: str, tmp_path: Path) -> None:
    """CREATE DATABASE (as a superuser it could as well drop the target's database WITH (FORCE)) is
    now named by the statement facts before anything runs; the shadow's login, which owns only its
    own database, could not run it either (test_the_shadow_login_owns_... tries it there)."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    try:
        result = attack(root, empty_db_url, "other-database", "--max-iterations", "1")
        with psycopg.connect(empty_db_url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'planted_db'").fetchone() == (0,)
        assert result.returncode == 1, log_of(root)
        assert "0004_extra.sql:3: creates a database (Createdb)" in log_of(root), log_of(root)
        assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    finally:
        with psycopg.connect(empty_db_url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS planted_db")


def test_the_shadow_login_owns_what_the_applied_migrations_made_and_nothing_more(empty_db_url: str,
                                                                                 tmp_path: Path) -> None:
    """Applied migrations run as the harness's role (one that only a superuser may run included),
    then the login owns every object they made: the agent's SQL can alter them all, and nothing
    outside its database."""
    from conftest import settings_for

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_base.sql").write_text(
        "COMMENT ON EXTENSION plpgsql IS 'only its owner may';\n"
        "CREATE SCHEMA app;\nCREATE TABLE app.item (id serial PRIMARY KEY, name text);\n"
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n"
        "CREATE TYPE mood AS ENUM ('sad');\nCREATE DOMAIN positive AS integer CHECK (VALUE > 0);\n"
        "CREATE VIEW v AS SELECT id FROM t;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    settings = settings_for(empty_db_url, folder)
    with psycopg.connect(empty_db_url, autocommit=True) as admin:
        with commands.scratch_login(settings, admin, trusted={"0001_base"}) as login:
            with psycopg.connect(login.url, autocommit=True) as conn:
                for change in ("ALTER TABLE app.item ADD COLUMN note text", "ALTER TABLE t ADD COLUMN at timestamptz",
                               "ALTER TYPE mood ADD VALUE 'happy'", "ALTER DOMAIN positive SET DEFAULT 1",
                               "CREATE OR REPLACE VIEW v AS SELECT id, at FROM t",
                               "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2'",
                               "CREATE TABLE app.more (id int)", "INSERT INTO app.item (name) VALUES ('x')",
                               "DELETE FROM _yoyo_migration"):
                    conn.execute(change)
                for outside in ("COPY (SELECT 1) TO PROGRAM 'true'", "CREATE DATABASE planted_db",
                                "CREATE ROLE planted_superuser SUPERUSER", "ALTER SYSTEM SET work_mem = '1MB'",
                                "CREATE EXTENSION dblink", "COMMENT ON EXTENSION plpgsql IS 'mine'"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        conn.execute(outside)


def declare(root: Path, line: str) -> None:
    """Add ``line`` (``drops = [...]``, ``writes = [...]``) to SCHEMA-002: the allow-list lets the
    statement through, so that the layer behind it is what the test sees at work."""
    stories = root / "ralph" / "stories.toml"
    old = 'migrations = ["0003_api_keys_usage"]\n'
    stories.write_text(stories.read_text().replace(old, old + line + "\n"))


def target_with_audit_trail(tmp_path: Path, url: str) -> Path:
    """A project whose target holds SCHEMA-001 and, outside any migration, a table no story names
    with two rows (1 and 2)."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit_trail (id int PRIMARY KEY); INSERT INTO audit_trail VALUES (1), (2)")
    return root


def test_the_agent_cannot_silence_lint_with_its_own_ignore_comments(empty_db_url: str, tmp_path: Path) -> None:
    """An ignore comment in agent-written SQL vouches for nothing: the drop of a table no story
    names (rows in it) fails the iteration instead of reaching the target."""
    root = target_with_audit_trail(tmp_path, empty_db_url)
    declare(root, 'drops = ["audit_trail"]')
    result = attack(root, empty_db_url, "silenced", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    assert "lint: 0004_extra.sql:3: drop-table: DROP TABLE audit_trail deletes its data for good" in log_of(root), \
        log_of(root)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_trail").fetchone() == (2,)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_a_migration_that_deletes_or_changes_rows_on_the_target_is_undone_there(empty_db_url: str,
                                                                                  tmp_path: Path) -> None:
    """Story checks read the schema; rows a pending migration deletes or changes (only where the
    table exists: not in the shadow) are caught before the commit on the target, which ends as it was."""
    root = target_with_audit_trail(tmp_path, empty_db_url)
    declare(root, 'writes = ["audit_trail"]')
    result = attack(root, empty_db_url, "delete", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    assert "target: audit_trail: 2 of its 2 row(s) would be deleted or changed (in id)" in log_of(root), log_of(root)
    assert "the target is as it was" in log_of(root)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT array_agg(id ORDER BY id) FROM audit_trail").fetchone() == ([1, 2],)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_the_data_guard_allows_new_columns_and_rows_and_nothing_else(empty_db_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from ralph.harness import data_guard
    from ralph.harness.data_guard import data_lost, snapshot
    from schema_tools.harness import read_schema_on

    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamptz, doc jsonb, tags text[], n numeric(6,2)); "
                     "INSERT INTO t SELECT i, CASE WHEN i = 50 THEN 'infinity' ELSE '2026-01-01 12:00+00' END::timestamptz, "
                     "'{\"a\": 1}', '{x,y}', i FROM generate_series(1, 50) i")
        before = snapshot(conn, read_schema_on(conn, settings_for(empty_db_url)))

        def after(change: str) -> list[str]:
            with conn.transaction(force_rollback=True):
                conn.execute("SET LOCAL TIME ZONE 'Asia/Kolkata'; SET LOCAL DateStyle = 'German'")
                conn.execute(change)
                return data_lost(conn, before, read_schema_on(conn, settings_for(empty_db_url)))

        assert after("ALTER TABLE t ADD COLUMN note text; UPDATE t SET note = 'x'; INSERT INTO t (id) VALUES (99)") == []
        assert after("ALTER TABLE t ALTER COLUMN n TYPE numeric(8,3); UPDATE t SET n = n * 2") == []  # another type
        assert after("ALTER TABLE t RENAME id TO key; ALTER TABLE t RENAME at TO at2; ALTER TABLE t RENAME doc TO d; "
                     "ALTER TABLE t RENAME tags TO t2; ALTER TABLE t RENAME n TO n2") == []  # nothing kept: counted
        assert after("UPDATE t SET at = at + interval '1 second' WHERE id = 7")[0].startswith(
            "t: 1 of its 50 row(s) would be deleted or changed (in id, at, doc, tags, n)")
        assert after("DELETE FROM t WHERE id <= 3")[0].startswith("t: 3 of its 50 row(s) would be deleted or changed")
        assert after("UPDATE t SET doc = '{\"a\": 2}' WHERE id = 1")[0].startswith("t: 1 of its 50")
        conn.execute("CREATE TABLE s (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY); INSERT INTO s DEFAULT VALUES; "
                     "INSERT INTO s DEFAULT VALUES")
        before = snapshot(conn, read_schema_on(conn, settings_for(empty_db_url)))
        assert after("SELECT setval('s_id_seq', 5)") == []
        assert after("SELECT setval('s_id_seq', 1)")[0].startswith("sequence public.s_id_seq: it would go back from 2 to 1")
        assert after("ALTER SEQUENCE s_id_seq RESTART")[0].startswith("sequence public.s_id_seq: it would go back from 2 to")
        conn.execute("CREATE ROLE guard_reader; GRANT SELECT ON t TO guard_reader; CREATE TABLE hidden (id int)")
        try:
            with conn.transaction(force_rollback=True):  # a table the harness's role may not read is left out
                conn.execute("SET LOCAL ROLE guard_reader")
                assert sorted(snapshot(conn, read_schema_on(conn, settings_for(empty_db_url))).tables) == ["t"]
        finally:
            conn.execute("DROP TABLE hidden; DROP OWNED BY guard_reader; DROP ROLE guard_reader")
        monkeypatch.setattr(data_guard, "CELLS", 100)  # too many values to hold: counted only
        before = snapshot(conn, read_schema_on(conn, settings_for(empty_db_url)))
        assert before.tables["t"].cells is None
        assert after("DELETE FROM t WHERE id <= 3")[0].startswith("t: 3 of its 50 row(s) would be deleted;")
def test_a_migration_that_changes_a_table_its_story_does_not_name_is_not_promoted(empty_db_url: str,
                                                                                  tmp_path: Path) -> None:
    """No check of either story reads grants or table options: in SCHEMA-002's work they are out
    of its scope, and never reach the target."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    result = attack(root, empty_db_url, "grant", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    for refused in ("2: GRANTs privileges on table users, which SCHEMA-002 does not declare",
                    "4: runs AlterDefaultPrivileges", "5: alters tenants, which SCHEMA-002 does not name"):
        assert f"not allowed: 0004_extra.sql:{refused}" in log_of(root), log_of(root)  # scope: test_scope_names_...
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT has_table_privilege('public', 'users', 'DELETE')").fetchone() == (False,)
        assert conn.execute("SELECT has_column_privilege('public', 'users', 'email', 'SELECT')").fetchone() == (False,)
        assert conn.execute("SELECT count(*) FROM pg_default_acl").fetchone() == (0,)


def test_scope_names_what_changed_outside_the_story() -> None:
    from ralph.harness.scope import out_of_scope, table_of

    before = {"relation public.users": "kind=r grants={a}", "column public.users.email": "text",
              "relation public.t": "kind=r", "function public.f()": "grants=... old", "type public.mood": "e labels=a"}
    after = {**before, "relation public.users": "kind=r grants={a,=arwdDxt/a}", "column public.t.x": "integer",
             "relation public.t_x_idx": 'kind=i table="public.t" index=CREATE INDEX t_x_idx ON public.t USING btree (x)',
             "function public.f()": "grants=... new", "function public.g()": "new", "relation public.n": "kind=r",
             "trigger public.n.tg": "CREATE TRIGGER ...", "type public.mood": "e labels=a,b"}
    assert table_of("relation public.t_x_idx", after["relation public.t_x_idx"]) == "public.t"
    assert table_of("policy users.p", "") == "public.users"
    assert out_of_scope(before, after, "S-1", ["t"]) == [
        "scope: the pending migrations change function public.f() (changed), which S-1 does not name; a story "
        "changes only the tables it declares and what it creates",
        "scope: the pending migrations change table public.users (relation public.users changed), which S-1 does not "
        "name; a story changes only the tables it declares and what it creates",
        "scope: the pending migrations change type public.mood (changed), which S-1 does not name; a story changes "
        "only the tables it declares and what it creates"]


def test_rollback_files_that_do_not_undo_their_migration_are_not_promoted(empty_db_url: str, tmp_path: Path) -> None:
    """The harness may run a story's rollback files on the target (to undo a promotion that cannot
    run in one transaction): in the shadow they must bring the schema back exactly."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    declare(root, 'drops = ["tenant_users"]')
    result = attack(root, empty_db_url, "rollback-drop", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    assert re.search(r"rollback \(shadow\): rolling back the pending migrations does not restore the schema \(.*"
                     r"public\.tenant_users", log_of(root)), log_of(root)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_a_promotion_undone_by_rollback_files_is_checked_against_the_target_before_it(empty_db_url: str,
                                                                                      tmp_path: Path) -> None:
    """A promotion that cannot run in one transaction is undone with the rollback files. Those were
    proven in the shadow, but a migration that acts only outside scratch databases (on a table its
    story does not name) would leave on the target what they cannot restore: the allow-list refuses
    it before anything runs, and the target keeps its CHECK."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    with_schema_001(root, empty_db_url)
    result = attack(root, empty_db_url, "undo-unrestored", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    log = log_of(root)
    # The allow-list now refuses it before anything runs (it alters tenant_users, which SCHEMA-002 does not name).
    assert "not allowed: 0004_extra.sql:3: alters tenant_users, which SCHEMA-002 does not name" in log, log
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'tenant_users_role_check'").fetchone() \
            == (1,)


def test_rollback_files_of_a_promotion_outside_a_transaction_may_not_touch_rows(empty_db_url: str,
                                                                                 tmp_path: Path) -> None:
    """Undoing such a promotion runs the rollback files statement by statement on the target, out
    of the data guard's reach: one that deletes rows where a table exists (a DO block the shadow
    sees doing nothing) is refused before anything runs."""
    root = target_with_audit_trail(tmp_path, empty_db_url)
    result = attack(root, empty_db_url, "undo-delete", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    assert ("rollback (unguarded): 0004_extra.rollback.sql:1: a DO block in a rollback file of a promotion that cannot "
            "run in one transaction") in log_of(root), log_of(root)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_trail").fetchone() == (2,)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_a_drop_in_a_do_block_of_a_table_only_the_target_has_is_not_promoted(empty_db_url: str,
                                                                             tmp_path: Path) -> None:
    """The shadow never had audit_trail, so the drop did nothing there; on the target the data
    guard finds the table (by its OID) gone with its rows, which no story declares in drops."""
    root = target_with_audit_trail(tmp_path, empty_db_url)
    result = attack(root, empty_db_url, "do-drop", "--max-iterations", "1")
    assert result.returncode == 1, log_of(root)
    assert "not allowed: 0004_extra.sql:2: drops audit_trail (or something of it), which SCHEMA-002 does not name" \
        in log_of(root), log_of(root)  # before: the data guard found it gone on the target
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM audit_trail").fetchone() == (2,)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]
