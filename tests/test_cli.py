"""The command line as a user meets it: one-line errors, exit codes, no secrets, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import MIGRATIONS, Cli, CliResult, Cluster

SECRET = "Sup3r-Secret_pw"


@pytest.fixture(scope="module")
def app_role(cluster: Cluster) -> str:
    with cluster.admin() as conn:
        conn.execute(f"CREATE ROLE app_user LOGIN PASSWORD '{SECRET}'")
    return "app_user"


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("schema-tools: error: ")
    assert "Traceback" not in result.err + result.out
    for fragment in fragments:
        assert fragment in result.err


def test_unreachable_server(cli: Cli) -> None:
    result = cli("migrate", "--database", f"postgresql://app_user:{SECRET}@127.0.0.1:1/dev")
    assert_one_line_error(result, "Connection refused", "check the host and port", "app_user:***@")
    assert SECRET not in result.err + result.out


def test_wrong_password(cli: Cli, cluster: Cluster, app_role: str) -> None:
    result = cli("migrate", "--database", f"postgresql://{app_role}:wrong-{SECRET}@127.0.0.1:{cluster.port}/postgres")
    assert_one_line_error(result, "password authentication failed", "check the user name and password")
    assert SECRET not in result.err + result.out


def test_password_from_environment_is_masked_too(cli: Cli, cluster: Cluster, app_role: str) -> None:
    url = f"postgresql://{app_role}:{SECRET}@127.0.0.1:{cluster.port}/no_such_db"
    result = cli("status", env={"DATABASE_URL": url})
    assert_one_line_error(result, 'database "no_such_db" does not exist')
    assert SECRET not in result.err + result.out


def test_missing_migrations_folder(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    result = cli("migrate", "--database", empty_db_url, "--migrations", str(tmp_path / "none"))
    assert_one_line_error(result, "does not exist", "--migrations DIR")


@pytest.mark.parametrize("url", ["not a url", "postgresql://u:p@[broken/", "mysql://u:p@h/db"])
def test_malformed_url(cli: Cli, url: str) -> None:
    result = cli("status", "--database", url)
    assert_one_line_error(result)
    assert ":p@" not in result.err


def test_unknown_command_and_option(cli: Cli) -> None:
    for args in (["frobnicate"], ["migrate", "--nope"], ["rollback", "--to", "x", "--all"]):
        result = cli(*args)
        assert result.code == 2 and result.err.count("\n") == 1, result.err


def test_unknown_pyproject_key(cli: Cli, tmp_path: Path, empty_db_url: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\nmigration = 'm'\n")
    result = cli("status", "--database", empty_db_url, cwd=tmp_path)
    assert_one_line_error(result, "unknown key 'migration'", "known keys:")


def test_pyproject_sets_the_migrations_folder(cli: Cli, tmp_path: Path, empty_db_url: str) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "0001_t.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\nmigrations = 'db'\n")
    (tmp_path / "sub").mkdir()
    result = cli("migrate", "--database", empty_db_url, cwd=tmp_path / "sub")
    assert result.code == 0, result.err
    assert "applied 0001_t" in result.out


def test_help_teaches_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for word in ("migrate", "rollback", "status", "db", "DATABASE_URL", "exit codes"):
        assert word in result.out


@pytest.mark.parametrize("body,message", [
    ("[tool.schema_tools.verify]\nexpect = ['../../etc/passwd']\n", "verify.expect = '../../etc/passwd' points outside the project"),
    ("[tool.schema_tools.integrity]\nchecks = '/etc/passwd'\n", "integrity.checks = '/etc/passwd' points outside the project"),
])
def test_paths_outside_the_project_are_refused(cli: Cli, tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(body)
    result = cli("lint", cwd=tmp_path)
    assert_one_line_error(result, message)


def test_a_story_pointing_outside_the_migrations_folder_is_refused(cli: Cli, tmp_path: Path) -> None:
    stories = tmp_path / "stories.toml"
    stories.write_text('[[stories]]\nid = "S-1"\ntitle = "x"\nmigrations = ["../../etc/passwd"]\n')
    result = cli("run", "--stories", str(stories), "--database", "postgresql://u@127.0.0.1:1/x", program="ralph")
    assert result.code == 2 and "must be a migration id" in result.err and result.err.count("\n") == 1


def test_small_cli_consistencies(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    """status takes --format json like the others; --help names only options the command has; the
    out-of-order warning comes before what is applied; 'an ACCESS EXCLUSIVE lock'."""
    as_format = cli("status", "--database", empty_db_url, "--format", "json")
    as_flag = cli("status", "--database", empty_db_url, "--json")
    assert as_format.code == as_flag.code == 0 and json.loads(as_format.out) == json.loads(as_flag.out)
    assert "--database" not in cli("lint", "--help").out  # lint takes --trace-locks URL, and no implicit database
    assert "--migrations" not in cli("integrity", "--help").out
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    (folder / "0001b_late.sql").write_text("-- depends: 0001_users\nCREATE TABLE late (id int PRIMARY KEY);\n")
    out = cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).out.splitlines()
    warning = next(i for i, line in enumerate(out) if "out-of-order" in line or "sorts before" in line)
    applied = next(i for i, line in enumerate(out) if line.startswith("applied 0001b_late"))
    assert warning < applied, out
    (folder / "0002b_index.sql").write_text("-- depends: 0001b_late\nALTER TABLE late ADD COLUMN x int;\n")
    (tmp_path / "pyproject.toml").write_text("[tool.schema_tools]\nmigrations = 'm'\nlock_timeout = '0'\n")
    lint = cli("lint", str(folder / "0002b_index.sql"), cwd=tmp_path)  # no lock_timeout from the runner either
    assert "takes an ACCESS EXCLUSIVE lock" in lint.out and "a ACCESS" not in lint.out, lint.out


def test_sarif_and_github_paths_are_relative_to_the_repository(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "repo" / "db" / "migrations"
    folder.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()  # a repository root, as code scanning sees it
    (folder / "0001_a.sql").write_text("CREATE TABLE a (id bigint PRIMARY KEY);\nCREATE TABLE b (id int);\n")
    sarif = json.loads(cli("lint", str(folder), "--format", "sarif", cwd=tmp_path / "repo" / "db").out)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for run in sarif["runs"] for r in run["results"]
            for loc in r.get("locations", [])}
    assert uris == {"db/migrations/0001_a.sql"}, uris
    github = cli("lint", str(folder), "--format", "github", cwd=tmp_path / "repo").out
    assert "file=db/migrations/0001_a.sql," in github and str(tmp_path) not in github
    chosen = cli("lint", str(folder), "--format", "github", "--path-root", str(folder), cwd=tmp_path).out
    assert "file=0001_a.sql," in chosen


@pytest.mark.parametrize("command", ["status", "verify", "validate", "plan", "drift", "lint"])
def test_commands_run_where_fcntl_and_pwd_do_not_exist(db_url: str, command: str) -> None:
    """As on Windows: with a URL given, the embedded server's POSIX-only code is never imported."""
    import subprocess
    import sys

    blocked = ("import sys; sys.modules['fcntl'] = None; sys.modules['pwd'] = None\n"
               "from schema_tools.cli import main\nsys.exit(main(sys.argv[1:]))")
    args = [command] if command == "lint" else [command, "--database", db_url]
    done = subprocess.run([sys.executable, "-c", blocked, *args], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    assert done.returncode in (0, 1), done.stderr
    assert "fcntl" not in done.stderr and "pwd" not in done.stderr


# --- which database: never a silent guess ---------------------------------------------------


@pytest.mark.parametrize("ci", ["true", ""])
@pytest.mark.parametrize("command", [["migrate"], ["status"], ["verify"], ["plan"], ["lint"]])
def test_an_empty_database_url_is_a_mistake_not_the_embedded_server(cli: Cli, ci: str, command: list[str]) -> None:
    """A missing CI secret gives an empty DATABASE_URL: exit 2 and the fix, nothing started or applied."""
    result = cli(*command, env={"DATABASE_URL": "", "CI": ci})
    assert_one_line_error(result, "DATABASE_URL is set but empty", "unset it to use the embedded PostgreSQL")
    assert "embedded PostgreSQL postgresql://" not in result.err


def test_an_empty_database_option_is_a_mistake_too(cli: Cli) -> None:
    assert_one_line_error(cli("status", "--database", " "), "--database is empty")


def test_ralph_refuses_an_empty_database_url_too(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "progress.log"
    result = cli("run", "--stories", str(tmp_path / "none.toml"), "--log", str(log), program="ralph",
                 env={"DATABASE_URL": "", "CI": "true"})
    assert result.code == 2 and result.err.startswith("ralph: error: DATABASE_URL is set but empty"), result.err
    assert not log.exists()


def test_the_embedded_fallback_names_its_database_once_on_stderr(cli: Cli) -> None:
    result = cli("plan", "--trace")
    assert result.code in (0, 1), result.err
    said = [line for line in result.err.splitlines() if "using the embedded PostgreSQL" in line]
    assert said == [said[0]] and said[0].startswith("schema-tools: no --database or DATABASE_URL: using the embedded "
                                                    "PostgreSQL postgresql://postgres@127.0.0.1:"), result.err
    assert "using the embedded" not in result.out
    given = cli("status", "--database", cli("db", "url").out.strip())
    assert given.code == 0 and "embedded" not in given.err, given.err


def test_declining_the_rollback_prompt_exits_1_with_nothing_done(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    import psycopg

    from conftest import write_migration

    folder = tmp_path / "m"
    write_migration(folder, "0001_t", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n", "DROP TABLE t;\n")
    assert cli("migrate", "--database", empty_db_url, "--migrations", str(folder)).code == 0
    terminal, answers = os.openpty()  # the prompt is asked on a terminal only
    try:
        os.write(terminal, b"n\n")
        done = subprocess.run([sys.executable, "-m", "schema_tools", "rollback", "--database", empty_db_url,
                               "--migrations", str(folder)], stdin=answers, capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    finally:
        os.close(terminal)
        os.close(answers)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "roll back and lose it? [y/N]" in done.stdout and done.stdout.rstrip().endswith("rollback: nothing done")
    assert "error" not in done.stderr
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    refused = cli("rollback", "--database", empty_db_url, "--migrations", str(folder))  # no terminal: refused, exit 2
    assert refused.code == 2 and "--yes" in refused.err


def test_an_unknown_option_points_to_the_commands_own_help(cli: Cli) -> None:
    result = cli("lint", "--no-such-option")
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert result.err.startswith("schema-tools lint: error: unrecognized arguments: --no-such-option")
    assert "(see 'schema-tools lint --help')" in result.err
    ralph = cli("log", "--no-such-option", program="ralph")
    assert ralph.code == 2 and "(see 'ralph log --help')" in ralph.err


def test_lint_json_is_format_json(cli: Cli, tmp_path: Path) -> None:
    from conftest import write_migration

    write_migration(tmp_path / "m", "0001_a", "CREATE TABLE a (id bigint PRIMARY KEY);\n")
    assert json.loads(cli("lint", "--json", str(tmp_path / "m")).out)["tool"] == "lint"


def test_lint_names_files_relative_to_the_current_folder_in_every_format(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "db" / "m"
    folder.mkdir(parents=True)
    (folder / "0001_a.sql").write_text("CREATE TABLE a (id bigint PRIMARY KEY);\n")  # no rollback file: a finding
    text = cli("lint", str(folder), cwd=tmp_path).out
    assert text.startswith("db/m/0001_a.sql:1:1: error missing-rollback"), text
    data = json.loads(cli("lint", str(folder), "--json", cwd=tmp_path).out)
    assert [f["file"] for c in data["checks"] for f in c["findings"]] == ["db/m/0001_a.sql"]
    junit = cli("lint", str(folder), "--format", "junit", cwd=tmp_path).out
    assert "db/m/0001_a.sql" in junit and str(tmp_path) not in junit
    assert str(tmp_path) not in text + json.dumps(data)
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert str(folder / "0001_a.sql") in cli("lint", str(folder), cwd=elsewhere).out  # outside it: the full path


def _on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run schema-tools with stderr on a terminal (a pty) and stdout on a pipe: code, stdout, terminal."""
    import subprocess
    import sys

    terminal, screen = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "schema_tools", *args], stdout=subprocess.PIPE, stderr=screen,
                                text=True, env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
        os.close(screen)
        seen = b""
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out = proc.stdout.read() if proc.stdout else ""
        return proc.wait(timeout=300), out, seen.decode()
    finally:
        os.close(terminal)


def test_long_work_shows_progress_on_a_terminal_and_nothing_elsewhere(cli: Cli, empty_db_url: str,
                                                                     tmp_path: Path) -> None:
    from conftest import write_migration

    folder = tmp_path / "m"
    write_migration(folder, "0001_a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    write_migration(folder, "0002_b", "-- depends: 0001_a\nCREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    where = ["--database", empty_db_url, "--migrations", str(folder)]
    code, out, screen = _on_a_terminal(["plan", "--trace", *where])
    assert code == 0 and "plan --trace: 1/2 0001_a" in screen and "plan --trace: 2/2 0002_b" in screen, screen
    assert screen.endswith("\r\x1b[K") and "plan --trace" not in out  # the line is cleared; stdout untouched
    code, out, screen = _on_a_terminal(["check-reversible", "--chain", *where])
    assert code == 0 and "check-reversible: apply 2/2 0002_b" in screen and "roll back 2/2 0001_a" in screen, screen
    code, out, screen = _on_a_terminal(["migrate", "--json", *where])
    assert code == 0 and "migrate: applied 0002_b" in screen and json.loads(out)["applied"], screen
    for command in (["check-reversible"], ["plan", "--trace"]):  # not a terminal: nothing but the result
        quiet = cli(*command, *where)
        assert quiet.code == 0 and "\r" not in quiet.err and "1/2" not in quiet.err, quiet.err
