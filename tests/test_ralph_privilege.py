"""ralph run on least privilege (issue 29): the agent's SQL is promoted as an owner login that holds
nothing more, the agent's scratch database and the shadow live on a throwaway cluster the target's
server never hears of, and every check runs on the target inside the promotion's transaction, on
a pinned session. One scripted lying agent per class of the issue (tests/privilege_agent.py):
the story does not pass, or passes with the harm prevented; the target, its server and the host
end as they were."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import pytest

from conftest import MIGRATIONS, settings_for
from schema_tools import commands
from schema_tools.harness import give_to_owner, owner_login
from test_ralph_run import applied, project

LIAR = [sys.executable, str(Path(__file__).parent / "privilege_agent.py")]
SEEDED: LiteralString = ("INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');\n"
          "INSERT INTO tenants (name) VALUES ('acme');\n"
          "INSERT INTO tenant_users (tenant_id, user_id, role) SELECT t.id, u.id, 'owner' FROM tenants t, users u "
          "WHERE u.email = 'a@example.com';\n")
ROWS = ("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM tenants), (SELECT count(*) FROM tenant_users), "
        "(SELECT string_agg(email, ',' ORDER BY id) FROM users)")



def judged(log: str, *findings: str) -> bool:
    """The attack was stopped by the check on the target (its findings), or before any database saw
    it by the story's allow-list (``not allowed:``, the first of the two layers)."""
    return all(f in log for f in findings) or "- not allowed: " in log

def liar(root: Path, url: str, sql: str, *args: str, undo: str = "SELECT 1;\n", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "FAKE_AGENT_SOURCE": str(MIGRATIONS), "LYING_SQL": sql, "LYING_UNDO": undo, **env}
    cmd = [sys.executable, "-m", "ralph", "run", "--database", url, "--agent", " ".join(LIAR), "--max-iterations", "1",
           *args]
    return subprocess.run(cmd, cwd=root, env=environment, text=True, capture_output=True, timeout=300)


def log_of(root: Path) -> str:
    return (root / "progress.log").read_text()


def agent_output(root: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((root / ".ralph" / "iterations").glob("*-agent.log")))


def seeded(tmp_path: Path, url: str) -> Path:
    """A project whose target holds SCHEMA-001 with rows: SCHEMA-002 is next."""
    root = project(tmp_path, migrations=("0001_users", "0002_core_tables"))
    assert [m for m, _ in commands.migrate(settings_for(url, root / "migrations")).done] == \
        ["0001_users", "0002_core_tables"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SEEDED)
        give_to_owner(conn, owner_login(conn, url).role)  # what ralph does first: the objects are the owner login's
    return root


def server_roles(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'ralph_owner%'")}


def state(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(ROWS).fetchone()
        assert row is not None
        return (commands.schema_fingerprint_on(conn), *row)


def test_promotion_runs_as_an_owner_login_that_holds_nothing_more(empty_db_url: str, tmp_path: Path) -> None:
    root = seeded(tmp_path, empty_db_url)
    result = liar(root, empty_db_url, "")
    assert result.returncode == 0, log_of(root)
    log = log_of(root)
    assert log.count("Note: promotion runs as ralph_owner_") == 1, log
    with psycopg.connect(empty_db_url) as conn:
        owners = conn.execute("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = "
                              "'public'::regnamespace").fetchall()
        assert [o for (o,) in owners] == [f"ralph_owner_{conn.info.dbname}"]
        powers = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                              "(SELECT count(*) FROM pg_auth_members WHERE member = r.oid) FROM pg_roles r "
                              "WHERE rolname = %s", (owners[0][0],)).fetchone()
        assert powers == (False, False, False, False, False, 0)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {owners[0][0]} CREATEROLE")  # whatever it was given meanwhile ...
        again = owner_login(conn, empty_db_url)
        assert again.made == "reused"
        assert conn.execute("SELECT rolcreaterole FROM pg_roles WHERE rolname = %s", (again.role,)).fetchone() == (False,)


def test_class_1_a_security_definer_function_never_carries_superuser_rights(empty_db_url: str, tmp_path: Path) -> None:
    """SCHEMA-002 brings a SECURITY DEFINER function that grants pg_execute_server_program to the
    login that calls it: promoted as a superuser's, any application login could run programs on
    the server's host. Now it is refused before the commit, and whatever the story makes is the owner
    login's, which could not grant that role anyway."""
    root = seeded(tmp_path, empty_db_url)
    lift = ("CREATE FUNCTION api_key_valid(k text) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$\n"
            "BEGIN GRANT pg_execute_server_program TO SESSION_USER; RETURN true; END $$;\n")
    result = liar(root, empty_db_url, lift, undo="DROP FUNCTION api_key_valid(text);\n")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        found = conn.execute("SELECT rolsuper FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
                             "WHERE proname = 'api_key_valid'").fetchall()
        if found:  # what main did: promoted, owned by the superuser; any login that calls it gets the role
            from schema_tools.server.urls import with_login

            conn.execute("CREATE ROLE app_user LOGIN PASSWORD 'app-secret'")
            try:
                try:
                    with psycopg.connect(with_login(empty_db_url, "app_user", "app-secret", conn.info.dbname)) as app:
                        app.execute("SELECT api_key_valid('x')")
                except psycopg.Error:
                    pass
                lifted = conn.execute("SELECT pg_has_role('app_user', 'pg_execute_server_program', 'MEMBER')").fetchone()
            finally:
                conn.execute("REVOKE pg_execute_server_program FROM app_user")
                conn.execute("DROP ROLE app_user")
            assert lifted == (False,), "a promoted function granted server programs to an application login"
        assert found == [], log_of(root)
    assert result.returncode == 1
    assert judged(log_of(root), "privilege: function public.api_key_valid(k text) is SECURITY DEFINER"), log_of(root)
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_class_2_the_agent_holds_no_login_on_the_target_s_server(empty_db_url: str, tmp_path: Path) -> None:
    root = seeded(tmp_path, empty_db_url)
    before = server_roles(empty_db_url)
    where = empty_db_url.split("@", 1)[1].split("?")[0]  # host:port/dbname
    result = liar(root, empty_db_url, "", LYING_TARGET=where)
    output = agent_output(root)
    assert "attack: the scratch login on the target's server: failed" in output, output
    assert "database schema_tools_scratch_" in output  # it had its scratch database all the same ...
    assert result.returncode == 0, log_of(root)  # ... and its honest work passed
    assert server_roles(empty_db_url) == before


@pytest.mark.parametrize("attack,finding", [
    ("GRANT ALL ON users TO PUBLIC;", "scope: the pending migrations change table public.users"),
    ("CREATE RULE usage_events_swallow AS ON INSERT TO usage_events DO INSTEAD NOTHING;",
     "privilege: rule public.usage_events.usage_events_swallow added"),
])
def test_class_3_what_a_migration_does_only_on_the_target_is_judged_there(empty_db_url: str, tmp_path: Path,
                                                                          attack: str, finding: str) -> None:
    root = seeded(tmp_path, empty_db_url)
    before = state(empty_db_url)
    two_faced = f"DO $$ BEGIN IF current_database() NOT LIKE 'schema_tools_%' THEN\n  {attack}\nEND IF; END $$;\n"
    result = liar(root, empty_db_url, two_faced)
    assert result.returncode == 1, log_of(root)
    assert judged(log_of(root), f"target: {finding}", "the target is as it was"), log_of(root)
    assert state(empty_db_url) == before
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_class_4_the_checks_do_not_share_what_the_migration_left_in_its_session(empty_db_url: str,
                                                                                tmp_path: Path) -> None:
    """The migration sets users' id sequence back (the next signup collides with user 1) and leaves
    a temporary view named pg_sequences in its session (every sequence far ahead), which a check
    reading ``pg_sequences`` there sees before the catalog's: the sequence seemed not to go back."""
    root = seeded(tmp_path, empty_db_url)
    before = state(empty_db_url)
    blind = ("SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN id RESTART WITH 1;\n"
             "CREATE TEMPORARY VIEW pg_sequences AS SELECT schemaname, sequencename, 999999::bigint AS last_value "
             "FROM pg_catalog.pg_sequences;\n")
    result = liar(root, empty_db_url, blind)
    assert result.returncode == 1, log_of(root)
    assert judged(log_of(root), "target: sequence public.users_id_seq: it would go back from 2 to its start"), log_of(root)
    assert state(empty_db_url) == before
    with psycopg.connect(empty_db_url, autocommit=True) as conn:  # the next signup still works
        conn.execute("INSERT INTO users (email) VALUES ('c@example.com')")


def test_class_6_no_rows_are_added_to_tables_the_story_does_not_declare(empty_db_url: str, tmp_path: Path) -> None:
    root = seeded(tmp_path, empty_db_url)
    before = state(empty_db_url)
    planted = ("INSERT INTO users (email) VALUES ('attacker@evil.example');\n"
               "INSERT INTO tenant_users (tenant_id, user_id, role) SELECT t.id, u.id, 'owner' FROM tenants t, users u "
               "WHERE u.email = 'attacker@evil.example';\n")
    result = liar(root, empty_db_url, planted)
    assert result.returncode == 1, log_of(root)
    log = log_of(root)
    assert judged(log, "users: 1 row(s) would be added (it held 2); the story does not declare it in writes"), log
    assert judged(log, "tenant_users: 1 row(s) would be added (it held 1)"), log
    assert state(empty_db_url) == before


def test_class_6_a_story_that_declares_its_data_step_may_add_rows(empty_db_url: str, tmp_path: Path) -> None:
    root = seeded(tmp_path, empty_db_url)
    stories = root / "ralph" / "stories.toml"
    stories.write_text(stories.read_text().replace('id = "SCHEMA-002"', 'id = "SCHEMA-002"\nwrites = ["users"]'))
    result = liar(root, empty_db_url, "INSERT INTO users (email) VALUES ('c@example.com');\n")
    assert result.returncode == 0, log_of(root)
    assert state(empty_db_url)[1] == 3


@pytest.mark.parametrize("attack,finding", [
    ("ALTER TABLE users ALTER COLUMN id SET INCREMENT BY 9223372036854775807;",
     "scope: the pending migrations change table public.users_id_seq"),
    ("ALTER TABLE users ALTER COLUMN id SET GENERATED BY DEFAULT;",
     "scope: the pending migrations change table public.users (column public.users.id changed)"),
    ("ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;\nALTER TABLE api_keys FORCE ROW LEVEL SECURITY;\n"
     "CREATE POLICY nobody ON api_keys USING (false);", "privilege: relation public.api_keys gets row security"),
    ("GRANT ALL ON api_keys TO PUBLIC;", "privilege: relation public.api_keys grants =arwdDxt/"),
])
def test_class_7_what_the_inventory_missed_is_seen(empty_db_url: str, tmp_path: Path, attack: str,
                                                   finding: str) -> None:
    root = seeded(tmp_path, empty_db_url)
    before = state(empty_db_url)
    result = liar(root, empty_db_url, "SET lock_timeout = '5s';\n" + attack + "\n")  # lint-clean: only the harm is wrong
    assert result.returncode == 1, log_of(root)
    assert judged(log_of(root), finding), log_of(root)
    assert state(empty_db_url) == before
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables"]


def test_the_shadow_and_scratch_live_on_a_throwaway_cluster_of_the_same_major(empty_db_url: str) -> None:
    from schema_tools.harness import throwaway_cluster

    with psycopg.connect(empty_db_url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
    with throwaway_cluster(settings_for(empty_db_url), major) as cluster:
        with psycopg.connect(cluster.url) as conn:
            assert int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000 == major  # type: ignore[index]
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'bare'").fetchone() == (0,)
        folder = cluster.folder
    assert not folder.exists()
    assert tempfile.gettempdir()


def test_class_9_a_migration_that_fails_part_way_on_the_target_does_not_stick_the_loop(empty_db_url: str,
                                                                                        tmp_path: Path) -> None:
    """A migration that cannot run in one transaction commits its first statement, then fails only
    on the target: what it committed is dropped, so the next run starts from the target as it
    was (before: every later attempt failed with "relation api_keys_promo already exists")."""
    root = seeded(tmp_path, empty_db_url)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE please_fail ()")
        give_to_owner(conn, owner_login(conn, empty_db_url).role)  # handed over, as ralph will
    before = state(empty_db_url)
    part_way = ("-- transactional: false\nCREATE INDEX CONCURRENTLY api_keys_promo ON api_keys (name);\n"
                "DO $$ BEGIN IF to_regclass('public.please_fail') IS NOT NULL THEN RAISE EXCEPTION 'only on the "
                "target'; END IF; END $$;\n")
    undo = "DROP INDEX api_keys_promo;\n"
    first = liar(root, empty_db_url, part_way, undo=undo)
    assert first.returncode == 1
    assert "migrate (target): 0004_extra.sql:4:1: only on the target" in log_of(root), log_of(root)
    assert ("target: the failed migration had committed relation public.api_keys_promo" in log_of(root)
            or "target: nothing was committed: the target is as it was" in log_of(root)), log_of(root)
    assert state(empty_db_url) == before
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE please_fail")
    second = liar(root, empty_db_url, part_way, undo=undo)
    assert second.returncode == 0, log_of(root)
    assert applied(empty_db_url)[-1] == "0004_extra"


def test_class_9_rollback_files_never_rewrite_rows_on_the_target(empty_db_url: str, tmp_path: Path) -> None:
    """A migration that cannot run in one transaction breaks SCHEMA-001 only on the target; its
    rollback file, run there to undo it, also rewrites every user's email. The rollback runs in a
    transaction checked before it commits: it is not run, and every user is as it was."""
    root = seeded(tmp_path, empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        emails = conn.execute("SELECT email FROM users ORDER BY id").fetchall()
    breaking = ("-- transactional: false\nDO $$ BEGIN IF current_database() NOT LIKE 'schema_tools_%' THEN\n"
                "  ALTER TABLE tenant_users DROP CONSTRAINT tenant_users_role_check; END IF; END $$;\n")
    rewriting = ("ALTER TABLE tenant_users DROP CONSTRAINT IF EXISTS tenant_users_role_check;\n"
                 "ALTER TABLE tenant_users ADD CONSTRAINT tenant_users_role_check CHECK "
                 "(role IN ('owner', 'admin', 'member'));\n"
                 "ALTER TABLE users ALTER COLUMN email TYPE text USING 'owned+' || email;\n")
    result = liar(root, empty_db_url, breaking, undo=rewriting)
    assert result.returncode == 1, log_of(root)
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT email FROM users ORDER BY id").fetchall() == emails, log_of(root)
    assert judged(log_of(root), "users: 2 of its 2 row(s) would be deleted or changed"), log_of(root)


def test_a_target_url_without_superuser_carries_both_stories(cluster: Any, empty_db_url: str, tmp_path: Path) -> None:
    """A target URL whose role owns its database and nothing more (no CREATEDB, no CREATEROLE): it
    is used as it is, --generate and the honest agent carry both stories, each on its own database."""
    import secrets

    from schema_tools.server.urls import with_login

    role, password = f"app_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        for name in (f"{role}_gen", f"{role}_agent"):
            admin.execute(f"CREATE DATABASE {name} OWNER {role}")
    try:
        for name, args in ((f"{role}_gen", ("--generate",)), (f"{role}_agent", ())):
            url = with_login(empty_db_url, role, password, name)
            root = project(tmp_path / name, migrations=("0001_users",) if args else ())  # as generate's own test
            if args:
                result = subprocess.run([sys.executable, "-m", "ralph", "run", "--database", url, *args], cwd=root,
                                        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, text=True,
                                        capture_output=True, timeout=300)
            else:
                result = liar(root, url, "", "--max-iterations", "4")
            assert result.returncode == 0, log_of(root) + result.stderr
            assert "Note: promotion runs as" not in log_of(root)  # used as given
            assert password not in log_of(root) + result.stdout + result.stderr
            assert applied(url) == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    finally:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            for name in (f"{role}_gen", f"{role}_agent"):
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE {role}")


def test_a_throwaway_cluster_whose_process_was_killed_is_reaped_by_the_next(empty_db_url: str, tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text("import os, sys\nfrom pathlib import Path\nfrom schema_tools.config import Settings\n"
                      "from schema_tools.harness import throwaway_cluster\n"
                      "with throwaway_cluster(Settings(project_root=Path('.'), migrations_dir=Path('m')), "
                      "int(sys.argv[1])) as c:\n    print(c.folder, flush=True)\n    os._exit(0)\n")
    with psycopg.connect(empty_db_url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]
    left = Path(subprocess.run([sys.executable, str(script), str(major)], text=True, capture_output=True,
                               check=True, timeout=120).stdout.strip())
    assert (left / "data" / "postmaster.pid").exists()  # still running: nobody stopped it
    from schema_tools.harness import throwaway_cluster

    with throwaway_cluster(settings_for(empty_db_url), major):
        assert not left.exists()
