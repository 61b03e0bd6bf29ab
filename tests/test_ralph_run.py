"""ralph run: the loop end to end against a real server, with a scripted fake agent."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal, overload

import psycopg
import pytest

from conftest import FIXTURES, MIGRATIONS, ROOT, Cli, Cluster, scalar, settings_for
from ralph.harness.stories import load_stories, set_passes
from ralph.logformat import read_log
from ralph.review.summary import summarise
from schema_tools import ConfigError, commands

STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d\]"
AGENT = [sys.executable, str(Path(__file__).parent / "fake_agent.py")]


def project(tmp_path: Path, migrations: tuple[str, ...] = ("0001_users", "0002_core_tables", "0003_api_keys_usage")) -> Path:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    (root / "ralph").mkdir()
    (root / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "migrations"\n')
    stories = (ROOT / "ralph" / "stories.toml").read_text()
    (root / "ralph" / "stories.toml").write_text(stories.replace("passes = true", "passes = false"))
    for mid in migrations:
        for suffix in (".sql", ".rollback.sql"):
            shutil.copy(MIGRATIONS / f"{mid}{suffix}", root / "migrations" / f"{mid}{suffix}")
    return root


@overload
def ralph(root: Path, url: str, *args: str, agent_mode: str | None = None, extra_env: dict[str, str] | None = None,
          wait: Literal[True] = True) -> subprocess.CompletedProcess[str]: ...


@overload
def ralph(root: Path, url: str, *args: str, agent_mode: str | None = None, extra_env: dict[str, str] | None = None,
          wait: Literal[False]) -> subprocess.Popen[str]: ...


def ralph(root: Path, url: str, *args: str, agent_mode: str | None = None, extra_env: dict[str, str] | None = None,
          wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    """``ralph run`` on ``root``'s project: to the end (``wait``), or started and left running."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"FAKE_AGENT_SOURCE": str(MIGRATIONS)}, **(extra_env or {}))
    cmd = [sys.executable, "-m", "ralph", "run", "--database", url, *args]
    if agent_mode:
        env["FAKE_AGENT_MODE"] = agent_mode
        cmd += ["--agent", " ".join(AGENT)]
        if agent_mode == "sleep":  # its marker file must be visible here: outside a sandbox
            cmd += ["--sandbox", "none"]
    if not wait:  # SIGINT restored: a shell without job control may have started us with it ignored
        return subprocess.Popen(cmd, cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return subprocess.run(cmd, cwd=root, env=env, text=True, capture_output=True, timeout=300)


def applied(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        if scalar(conn, "SELECT to_regclass('_yoyo_migration')") is None:
            return []
        return [r[0] for r in conn.execute('SELECT migration_id FROM "_yoyo_migration" ORDER BY 1').fetchall()]


def seed_bullets() -> dict[str, list[str]]:
    """Table -> column names from the seed log's completion bullets."""
    tables = {}
    for line in (FIXTURES / "seed_progress.log").read_text().splitlines():
        match = re.match(r"^- (\w+): (.+)$", line)
        if match and match.group(1) in ("tenants", "tenant_users", "sessions", "api_keys", "usage_events"):
            text = re.sub(r"\([^)]*\)", "", match.group(2).split(", UNIQUE(")[0])
            tables[match.group(1)] = [c.strip() for c in text.split(",") if c.strip()]
    return tables


def test_from_an_empty_database_both_stories_in_the_seed_format(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    result = ralph(root, empty_db_url)
    assert result.returncode == 0, result.stderr
    log = (root / "progress.log").read_text()
    lines = [line for line in log.splitlines() if line.startswith("[") and "] Note: " not in line]
    assert log.count("Note: promotion runs as ralph_owner_") == 1  # the embedded default: a superuser's URL
    assert [re.sub(STAMP, "[ts]", line) for line in lines] == [
        "[ts] === Ralph Loop Started (max 10 iterations) ===",
        "[ts] Iteration 1: SCHEMA-001 - Database schema migration - Core tables",
        "[ts] Iteration 1 completed successfully",
        "[ts] SCHEMA-001 completed",
        "[ts] Iteration 2: SCHEMA-002 - Database schema migration - API keys and usage events",
        "[ts] Iteration 2 completed successfully",
        "[ts] SCHEMA-002 completed",
        "[ts] === Ralph Loop Ended ===",
    ]
    for table, columns in seed_bullets().items():
        bullet = next(line for line in log.splitlines() if line.startswith(f"- {table}: "))
        named = [re.sub(r"\s*\(.*\)$", "", c.strip()) for c in bullet.split(": ", 1)[1].split(", ") if "UNIQUE(" not in c]
        assert set(columns) <= set(named), (table, columns, named)
    assert "UNIQUE(user_id, tenant_id, service)" in log and "role (owner/admin/member)" in log
    assert "scopes (JSON)" in log and "quota_period (hour/day/month)" in log and "idempotency_key (UNIQUE)" in log
    assert "- Indexes on: created_by, expires_at, key_hash, key_prefix, status, tenant_id for api_keys" in log
    assert all(s.passes for s in load_stories(root / "ralph" / "stories.toml"))
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    records = sorted((root / ".ralph" / "iterations").glob("*.json"))
    assert [json.loads(r.read_text())["story"] for r in records] == ["SCHEMA-001", "SCHEMA-002"]
    assert json.loads(records[0].read_text())["schema_fingerprint_before"] != json.loads(records[0].read_text())[
        "schema_fingerprint_after"]

    again = ralph(root, empty_db_url)
    assert again.returncode == 0, again.stderr
    tail = [re.sub(STAMP, "[ts]", line) for line in (root / "progress.log").read_text().splitlines()[-2:]]
    assert tail == ["[ts] === Ralph Loop Started (max 10 iterations) ===", "[ts] === Ralph Loop Ended ==="]
    summary = summarise(read_log(root / "progress.log"))
    assert (summary.runs, summary.runs_ended, summary.unknown_lines) == (2, 2, 0)


def test_passes_is_only_a_cache(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    stories = root / "ralph" / "stories.toml"
    set_passes(stories, "SCHEMA-001", True)
    set_passes(stories, "SCHEMA-002", True)
    result = ralph(root, empty_db_url)  # a fresh database holds neither story: a full run
    assert result.returncode == 0, result.stderr
    assert (root / "progress.log").read_text().count("completed successfully") == 2


def test_fake_agent_fixes_a_broken_migration_and_the_target_never_sees_it(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    result = ralph(root, empty_db_url, agent_mode="broken-then-fixed")
    assert result.returncode == 0, result.stderr
    log = (root / "progress.log").read_text()
    assert re.search(rf"{STAMP} Iteration 1 completed with issues\n    - verify: nothing makes \(user_id, tenant_id, service\) "
                     r"unique on sessions", log), log
    assert re.search(rf"{STAMP} Iteration 2 completed successfully", log)
    assert "SCHEMA-001 completed" in log and "SCHEMA-002 completed" in log
    with psycopg.connect(empty_db_url) as conn:
        checksum = scalar(conn, "SELECT checksum FROM _schema_tools_migrations WHERE migration_id = '0002_core_tables'")
        uniques = conn.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'sessions_user_id_tenant_id_service_key'").fetchone()
        logged = conn.execute("SELECT count(*) FROM \"_yoyo_log\" WHERE migration_id = '0002_core_tables'").fetchone()
    from schema_tools.migration_files.model import normalised_checksum
    assert checksum == normalised_checksum((MIGRATIONS / "0002_core_tables.sql").read_text())
    assert uniques == (1,) and logged == (1,)  # applied once, the fixed version
    agent_logs = sorted((root / ".ralph" / "iterations").glob("*-agent.log"))
    assert agent_logs and "database schema_tools_scratch_" in agent_logs[0].read_text()


def test_without_an_agent_the_same_failure_twice_stops_the_loop(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users",))
    result = ralph(root, empty_db_url)
    assert result.returncode == 1
    log = (root / "progress.log").read_text()
    assert log.count("completed with issues") == 2
    assert "migration 0002_core_tables.sql is missing from migrations/" in log
    assert re.search(r"=== Ralph Loop Ended \(stopped: SCHEMA-001 failed the same way twice and no agent is configured", log)
    assert applied(empty_db_url) == []


def test_with_an_agent_n_identical_failures_stop_the_loop(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users",))
    result = ralph(root, empty_db_url, "--max-identical-failures", "3", agent_mode="nothing")
    assert result.returncode == 1
    log = (root / "progress.log").read_text()
    assert log.count("completed with issues") == 3
    assert "failed the same way 3 times in a row" in log


def test_max_iterations_ends_the_loop(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    result = ralph(root, empty_db_url, "--max-iterations", "1")
    assert result.returncode == 1
    assert "=== Ralph Loop Ended (max iterations (1) reached; SCHEMA-002 still open) ===" in (root / "progress.log").read_text()


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_ctrl_c_mid_iteration_writes_the_end_marker_and_leaves_the_target_untouched(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    marker = tmp_path / "agent-started"
    proc = ralph(root, empty_db_url, agent_mode="sleep", extra_env={"FAKE_AGENT_MARKER": str(marker)}, wait=False)
    wait_for(marker)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    log = (root / "progress.log").read_text()
    assert log.rstrip().endswith("=== Ralph Loop Ended (interrupted by Ctrl-C) ===")
    assert applied(empty_db_url) == []


def test_sigterm_mid_iteration_ends_the_log_cleanly(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    marker = tmp_path / "agent-started"
    proc = ralph(root, empty_db_url, agent_mode="sleep", extra_env={"FAKE_AGENT_MARKER": str(marker)}, wait=False)
    wait_for(marker)
    proc.terminate()
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert (root / "progress.log").read_text().rstrip().endswith("=== Ralph Loop Ended (interrupted by SIGTERM) ===")
    assert applied(empty_db_url) == []


def test_sigkill_mid_iteration_then_the_next_run_resumes(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    marker = tmp_path / "agent-started"
    proc = ralph(root, empty_db_url, agent_mode="sleep", extra_env={"FAKE_AGENT_MARKER": str(marker)}, wait=False)
    wait_for(marker)
    proc.kill()
    proc.communicate(timeout=60)
    result = ralph(root, empty_db_url)  # the files are complete: no agent needed to finish
    assert result.returncode == 0, result.stderr
    summary = summarise(read_log(root / "progress.log"))
    assert summary.runs == 2 and summary.anomaly_counts.get("run-never-ended") == 1
    assert summary.anomaly_counts.get("iteration-without-outcome") == 1
    assert summary.stories["SCHEMA-002"].successes == 1


def test_a_second_run_on_the_same_database_refuses(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    marker = tmp_path / "agent-started"
    first = ralph(root, empty_db_url, agent_mode="sleep", extra_env={"FAKE_AGENT_MARKER": str(marker)}, wait=False)
    try:
        wait_for(marker)
        before = (root / "progress.log").read_text()
        second = ralph(root, empty_db_url)
        assert second.returncode == 2
        assert "another ralph run holds the lock on this database: pid" in second.stderr
        assert "--lock-wait" in second.stderr
        waited = time.monotonic()
        third = ralph(root, empty_db_url, "--lock-wait", "1.5")  # the option the hint names exists
        assert third.returncode == 2 and "waited 1.5s" in third.stderr, third.stderr
        assert time.monotonic() - waited >= 1.5
        assert (root / "progress.log").read_text() == before
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert (root / "progress.log").read_text().rstrip().endswith("(interrupted by Ctrl-C) ===")


def test_import_a_prd_json(tmp_path: Path, cli: Cli) -> None:
    prd = tmp_path / "prd.json"
    prd.write_text(json.dumps({"project": "x", "userStories": [
        {"id": "US-001", "title": "Core tables", "description": "tenants and users", "priority": 1, "passes": True,
         "acceptanceCriteria": ["tenants: id, name, plan (free/pro)", "Indexes on: name for tenants",
                                "Typecheck passes", "Looks good in the browser"], "notes": ""},
        {"id": "US-002", "title": "Quotes \" and \\ backslashes", "acceptanceCriteria": []}]}))
    out = tmp_path / "stories.toml"
    result = cli("import", str(prd), "-o", str(out), program="ralph")
    assert result.code == 0, result.err
    assert "2 criteria became machine checks, 2 stay unverified" in result.out
    assert "US-002: nothing the harness can check yet" in result.out
    with pytest.raises(ConfigError, match="US-002 has nothing the harness can check"):
        load_stories(out)  # what ralph run does: refused before anything starts
    stories = load_stories(out, runnable=False)
    assert [s.id for s in stories] == ["US-001", "US-002"] and not stories[0].passes
    exp = stories[0].expectations[0]
    assert exp.table == "tenants" and [c.name for c in exp.columns] == ["id", "name", "plan"]
    assert exp.allowed_values == {"plan": ("free", "pro")} and exp.indexed == (("name",),)
    assert stories[1].title == 'Quotes " and \\ backslashes'
    again = cli("import", str(prd), "-o", str(out), program="ralph")
    assert again.code == 2 and "--force" in again.err


def test_a_run_over_both_stories_opens_few_connections(empty_db_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """One connection to the target for the whole run (it reads the catalog and the history,
    holds the run lock, creates the shadows), two per shadow (the harness's role prepares it and
    hands it over; its own login applies the agent's SQL), one per promotion: 7 here, and one to
    the throwaway cluster the shadows live on (issue 29). And each migrate or rollback runs its
    migrations on a work connection of its own (issue 27): 8 more."""
    from ralph import cli as ralph_cli

    opened: list[str] = []
    real = psycopg.connect

    def counting(*args: Any, **kwargs: Any) -> psycopg.Connection[Any]:
        opened.append(str(kwargs.get("application_name", "")))
        return real(*args, **kwargs)

    root = project(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(psycopg, "connect", counting)
    assert ralph_cli.main(["run", "--database", empty_db_url]) == 0
    monkeypatch.undo()
    assert applied(empty_db_url) == ["0001_users", "0002_core_tables", "0003_api_keys_usage"]
    labels = [re.sub(r" pid=\d+", "", label) for label in opened]
    assert labels.count("ralph run") == 1 and labels.count("ralph scratch server") == 1
    assert labels.count("ralph shadow") == 2 and labels.count("schema-tools migrate") == 2
    assert labels.count("schema-tools scratch") == 2
    own = [label for label in labels if not label.endswith(" work")]
    assert len(own) == 8, labels
    assert labels.count("schema-tools migrate work") == 2 and len(labels) - len(own) == 8, labels


def test_the_second_prompt_states_the_situation(empty_db_url: str, tmp_path: Path) -> None:
    """A scripted agent fails SCHEMA-002 once: the retry's prompt carries the findings, the applied
    (frozen) migrations, the live definition of the tables the story references, and learnings
    of this story only, each once; the scratch database holds the target's schema."""
    root = project(tmp_path)
    commands.migrate(settings_for(empty_db_url, root / "migrations"), to="0002_core_tables")
    for suffix in (".sql", ".rollback.sql"):
        (root / "migrations" / f"0003_api_keys_usage{suffix}").unlink()
    result = ralph(root, empty_db_url, "--story", "SCHEMA-002", agent_mode="broken-then-fixed",
                   extra_env={"FAKE_AGENT_BREAK": "0003_api_keys_usage", "FAKE_AGENT_ECHO": "1"})
    assert result.returncode == 0, result.stderr
    logs = sorted((root / ".ralph" / "iterations").glob("*-agent.log"))
    assert len(logs) == 2
    first, second = (log.read_text() for log in logs)
    assert "## The previous attempt failed with" not in first
    failed = second.split("## The previous attempt failed with", 1)[1].split("##", 1)[0]
    assert "- verify: nothing makes (idempotency_key) unique on usage_events" in failed, failed
    assert failed.count("nothing makes (idempotency_key) unique on usage_events") == 1, failed  # not again as a criterion
    applied_section = second.split("## Applied on the target: frozen, never edit these (2)", 1)[1].split("##", 1)[0]
    assert applied_section.split() == ["-", "migrations/0001_users.sql", "-", "migrations/0002_core_tables.sql"]
    assert "## The story's tables (and those they reference) on the target now" in second
    assert "api_keys: does not exist yet" in second
    assert re.search(r"^tenants:\n  id bigint NOT NULL GENERATED ALWAYS AS IDENTITY", second, re.M), second
    assert "\n\n- " not in second.split("## Acceptance criteria", 1)[1].split("##", 1)[0]  # one line per bullet
    assert "## Why this story is open" in first and "migration 0003_api_keys_usage is not applied" in first
    assert "## Earlier attempts" not in second  # its only earlier finding is the previous failure: shown once
    assert second.count("- verify: nothing makes (idempotency_key) unique on usage_events") == 1
    assert "database schema_tools_scratch_" in first
    scratch = next(line for line in first.splitlines() if line.startswith("scratch tables: ")).split()[2:]
    assert {"tenants", "users", "sessions", "tenant_users"} <= set(scratch) and "api_keys" not in scratch


STANDIN = """#!{python}
import os, shutil, sys
from pathlib import Path
name = Path(sys.argv[0]).name
prompt = sys.stdin.read()
if name == "aider":
    index = sys.argv.index("--message-file")
    prompt = Path(sys.argv[index + 1]).read_text()
print("argv:", repr([name, *sys.argv[1:]]))
print("prompt starts:", prompt.splitlines()[0] if prompt else "(nothing)")
source = Path(os.environ["FAKE_AGENT_SOURCE"])
for mid in ("0001_users", "0002_core_tables"):
    for suffix in (".sql", ".rollback.sql"):
        shutil.copy(source / (mid + suffix), Path("migrations") / (mid + suffix))
"""


def documented_agents() -> list[str]:
    """The --agent examples of `ralph run --help`, as bash passes them (bash itself splits the line)."""
    out = subprocess.run([sys.executable, "-m", "ralph", "run", "--help"], capture_output=True, text=True).stdout
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("ralph run --agent ")]
    return [subprocess.run(["bash", "-c", f"printf '%s\\0' {line}"], capture_output=True, text=True,
                           check=True).stdout.split("\0")[3] for line in lines]


def test_every_documented_agent_example_runs(empty_db_url: str, tmp_path: Path) -> None:
    """Each example of --help against a stand-in executable of that name that reports the argv and
    the prompt it got (on stdin, or for aider the message file a shell expanded)."""
    examples = documented_agents()
    assert len(examples) == 4 and any("aider" in e for e in examples)
    readme = [line.split("#")[0].strip() for line in (ROOT / "README.md").read_text().splitlines()
              if line.startswith("ralph run --agent ")]
    assert [line.split(" ", 3)[3] for line in readme] == [line.split(" ", 3)[3] for line in (
        ln.strip() for ln in subprocess.run([sys.executable, "-m", "ralph", "run", "--help"], capture_output=True,
                                            text=True).stdout.splitlines() if ln.strip().startswith("ralph run --agent "))]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex", "amp", "aider"):
        (bin_dir / name).write_text(STANDIN.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    for n, example in enumerate(examples):
        root = project(tmp_path / str(n), migrations=())
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(FAKE_AGENT_SOURCE=str(MIGRATIONS), PATH=f"{bin_dir}:{os.environ['PATH']}")
        done = subprocess.run([sys.executable, "-m", "ralph", "run", "--database", empty_db_url, "--story", "SCHEMA-001",
                               "--agent", example], cwd=root, env=env, text=True, capture_output=True, timeout=300)
        assert done.returncode == 0, (example, done.stderr, done.stdout)
        said = next((root / ".ralph" / "iterations").glob("*-agent.log")).read_text()
        import shlex

        words = shlex.split(example)
        expected = words if words[0] != "sh" else ["aider", "--yes-always", "--message-file"]
        assert f"argv: {expected!r}"[:-1] in said, (example, said)
        assert "prompt starts: # Story SCHEMA-001" in said, said
        with psycopg.connect(empty_db_url, autocommit=True) as conn:  # the next example starts from nothing
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


@pytest.mark.parametrize("agent,message", [
    ("aider --message-file $RALPH_PROMPT_FILE", "no shell runs the command, so the agent would get $RALPH_PROMPT_FILE"),
    ("no-such-agent-xyz -p", "'no-such-agent-xyz' is not a command on PATH"),
    ("/nonexistent/agent", "/nonexistent/agent is not an executable file"),
])
def test_a_bad_agent_command_is_refused_before_the_run_starts(empty_db_url: str, tmp_path: Path, agent: str,
                                                               message: str) -> None:
    root = project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "ralph", "run", "--database", empty_db_url, "--agent", agent],
                          cwd=root, text=True, capture_output=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2 and "Traceback" not in done.stderr
    assert not (root / "progress.log").exists()


def test_an_agent_that_fails_is_in_the_log_and_the_terminal_shows_each_iteration(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=())
    result = ralph(root, empty_db_url, "--max-identical-failures", "2", agent_mode="fail")
    assert result.returncode == 1
    log = (root / "progress.log").read_text()
    assert "    - agent: exited with code 1; its last output: " in log and "invalid API key" in log, log
    lines = result.stdout.splitlines()
    assert re.match(r"iteration 1: SCHEMA-001 failed \(\d+\.\d s\): ", lines[0]), result.stdout
    assert lines[-1].startswith("ralph: 0 of 2 stories pass after 2 iteration(s); stopped: SCHEMA-001 failed the same way")


def test_make_demo_leaves_the_checkout_clean_and_its_log_without_anomalies(empty_db_url: str, cluster: Cluster) -> None:
    committed = {name: (ROOT / name).read_bytes() for name in ("progress.log", "ralph/stories.toml")}
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL")}
    env.update(DATABASE_URL=empty_db_url, SCHEMA_TOOLS_STATE_DIR=str(cluster.settings.state_path))
    for _ in range(2):  # twice: a second demo is as clean as the first
        done = subprocess.run(["make", "-s", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert {name: (ROOT / name).read_bytes() for name in committed} == committed
        summary = summarise(read_log(ROOT / ".ralph" / "demo" / "progress.log"))
        assert summary.runs == 1 and summary.runs_ended == 1 and summary.anomaly_counts == {}
    assert "2 of 2 stories pass" in done.stdout


def test_a_regression_reopens_the_story_and_the_prompt_says_why_with_its_live_tables(empty_db_url: str,
                                                                                     tmp_path: Path) -> None:
    root = project(tmp_path)
    assert ralph(root, empty_db_url).returncode == 0  # both stories pass
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tenant_users DROP CONSTRAINT tenant_users_role_check")  # someone, by hand
    result = ralph(root, empty_db_url, "--max-iterations", "1", agent_mode="nothing", extra_env={"FAKE_AGENT_ECHO": "1"})
    assert result.returncode == 1
    prompt = next((root / ".ralph" / "iterations").glob("*-agent.log")).read_text()
    assert "# Story SCHEMA-001" in prompt
    reopened = prompt.split("## Why this story is open again (it passed before; the target no longer holds it)", 1)[1]
    assert "verify: " in reopened.split("##", 1)[0] and "role" in reopened.split("##", 1)[0], reopened[:500]
    applied_ids = prompt.split("## Applied on the target: frozen, never edit these (3)", 1)[1].split("##", 1)[0]
    assert "migrations/0003_api_keys_usage.sql" in applied_ids
    live = prompt.split("## The story's tables (and those they reference) on the target now", 1)[1].split("## ", 1)[0]
    assert re.search(r"^tenant_users:\n  tenant_id bigint NOT NULL", live, re.M), live
    assert "tenant_users_role_check" not in live  # what the target holds now, not what the files say


def test_the_suite_s_ralph_runs_guard_a_copy_of_the_code_not_the_checkout(empty_db_url: str, tmp_path: Path) -> None:
    """A developer edits while the suite runs: an agent turn must not restore the checkout's files."""
    import importlib.util

    from conftest import HARNESS

    root = project(tmp_path)
    done = subprocess.run([sys.executable, "-c", "import ralph, schema_tools; print(ralph.__file__); "
                           "print(schema_tools.__file__)"], capture_output=True, text=True, cwd=root, check=True)
    assert done.stdout.split() == [str(HARNESS / "ralph" / "__init__.py"), str(HARNESS / "schema_tools" / "__init__.py")]
    spec = importlib.util.find_spec("ralph")
    assert spec is not None and spec.origin == str(ROOT / "ralph" / "__init__.py")  # this process: the checkout


def test_without_a_sandbox_the_terminal_is_told_not_only_the_log(empty_db_url: str, tmp_path: Path) -> None:
    root = project(tmp_path, migrations=("0001_users",))
    result = ralph(root, empty_db_url, "--sandbox", "none", "--max-iterations", "1", agent_mode="nothing")
    said = [line for line in result.stderr.splitlines() if line.startswith("ralph: no sandbox: the agent runs as you")]
    assert len(said) == 1, result.stderr
    assert "no sandbox: the agent runs as you" in (root / "progress.log").read_text()
    sandboxed = ralph(root, empty_db_url, "--max-iterations", "1", agent_mode="nothing")  # bubblewrap works here
    assert "no sandbox" not in sandboxed.stderr, sandboxed.stderr
