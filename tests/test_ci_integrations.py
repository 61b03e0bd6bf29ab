"""Where CI users live: the pre-commit hooks, run the way pre-commit runs them."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import yaml

from conftest import FIXTURES, MIGRATIONS, ROOT, Cluster

BIN = Path(sys.executable).parent


def hooks() -> dict[str, dict[str, Any]]:
    return {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def run_hook(hook: dict[str, Any], cwd: Path, changed: list[str]) -> subprocess.CompletedProcess[str] | None:
    """As pre-commit does: keep the changed files its patterns select (none: the hook does not
    run), then entry + args + (when pass_filenames) those files, from the repository root."""
    selected = [f for f in changed if re.search(hook.get("files", ""), f)
                and not (hook.get("exclude") and re.search(hook["exclude"], f))]
    if not selected:
        return None
    cmd = shlex.split(hook["entry"]) + hook.get("args", []) + (selected if hook.get("pass_filenames", True) else [])
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_lint_hook_checks_changed_migrations_against_their_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(MIGRATIONS, repo / "migrations")
    hook = hooks()["schema-tools-lint"]
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    clean = run_hook(hook, repo, ["migrations/0003_api_keys_usage.sql", "migrations/0003_api_keys_usage.rollback.sql",
                                  "README.md"])
    assert clean is not None
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (repo / "migrations" / "0004_index.sql").write_text("-- depends: 0003_api_keys_usage\n-- lock_timeout: 2s\n"
                                                        "CREATE INDEX users_display_name_idx ON users (display_name);\n")
    (repo / "migrations" / "0004_index.rollback.sql").write_text("DROP INDEX users_display_name_idx;\n")
    bad = run_hook(hook, repo, ["migrations/0004_index.sql", "migrations/0004_index.rollback.sql"])
    assert bad is not None and bad.returncode == 1
    assert "0004_index.sql:3:1: error index-not-concurrently" in bad.stdout, bad.stdout
    assert run_hook(hook, repo, ["migrations/0004_index.rollback.sql", "docs/x.md"]) is None  # nothing selected


def test_the_log_hook_fails_on_anomalies_only_when_the_log_changed(tmp_path: Path) -> None:
    hook = hooks()["ralph-log-strict"]
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(FIXTURES / "seed_progress.log", repo / "progress.log")
    assert run_hook(hook, repo, ["migrations/0001_users.sql"]) is None
    seed = run_hook(hook, repo, ["progress.log"])
    assert seed is not None and seed.returncode == 1 and "never ended" in seed.stdout
    (repo / "progress.log").write_text("[2026-01-01T10:00:00.000000+00:00] === Ralph Loop Started (max 3 iterations) ===\n"
                                       "[2026-01-01T10:00:01.000000+00:00] === Ralph Loop Ended ===\n")
    clean = run_hook(hook, repo, ["progress.log"])
    assert clean is not None
    assert clean.returncode == 0, clean.stdout + clean.stderr


# --- the GitHub Action, run step by step with a stand-in runner ---------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class StandInRunner:
    """What GitHub's runner does with a composite action, as far as this one needs: inputs with
    defaults, ${{ }} expressions, if: conditions, bash run steps with GITHUB_OUTPUT,
    GITHUB_STEP_SUMMARY and RUNNER_TEMP, step outputs; `uses:` steps are recorded, not run."""

    def __init__(self, tmp: Path, inputs: dict[str, str], event: str = "push", pr: int | None = None,
                 head: str = "owner/repo", comments: str = "") -> None:
        action = yaml.safe_load((ROOT / "action.yml").read_text())
        self.action = action
        self.inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()} | inputs
        self.github = {"action_path": str(ROOT), "token": "stand-in-token", "event_name": event,
                       "event": {"pull_request": {"number": pr, "head": {"repo": {"full_name": head}}}}}
        self.steps: dict[str, dict[str, str]] = {}
        self.used: list[tuple[str, dict[str, str]]] = []
        self.temp, self.summary = tmp / "runner_temp", tmp / "step_summary.md"
        self.temp.mkdir(parents=True)
        self.stdout = ""
        self.failed_with: int | None = None
        self.bin = tmp / "bin"
        self.bin.mkdir()
        # GitHub's CLI, standing in: it records what it was asked (the last call in gh-args, every
        # call in gh-calls) and answers `gh api` with ``comments`` (the ids its --jq would print)
        gh = self.bin / "gh"
        (tmp / "gh-comments").write_text(comments)
        gh.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp / 'gh-args'}\necho \"$*\" >> {tmp / 'gh-calls'}\n"
                      f"[ \"$1\" = api ] && [ \"$2\" != --method ] && cat {tmp / 'gh-comments'}\nexit 0\n")
        gh.chmod(0o755)
        self.gh_args, self.gh_calls = tmp / "gh-args", tmp / "gh-calls"

    def value(self, path: str) -> object:
        parts = path.split(".")
        if parts[0] == "inputs":
            return self.inputs[parts[1]]
        if parts[0] == "steps":
            return self.steps.get(parts[1], {}).get(parts[3], "")
        node: object = self.github
        for part in parts[1:]:
            node = node.get(part, "") if isinstance(node, dict) else ""
        return node

    def expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: str(self.value(m.group(1))), str(text))

    def condition(self, text: str | None) -> bool:
        if not text:
            return True
        python = re.sub(r"\b(inputs|steps|github)(\.[\w-]+)+", lambda m: repr(str(self.value(m.group(0)))), text)
        python = python.replace("&&", " and ").replace("||", " or ").replace("always()", "True")
        return bool(eval(python, {"__builtins__": {}}, {}))  # test code: the action's own conditions

    def run(self, cwd: Path) -> None:
        for step in self.action["runs"]["steps"]:
            if not self.condition(step.get("if")):
                continue
            if "uses" in step:
                self.used.append((step["uses"], {k: self.expand(v) for k, v in step.get("with", {}).items()}))
                continue
            output = self.temp / f"output-{len(self.steps)}"
            output.touch()
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
            env.update({k: self.expand(v) for k, v in step.get("env", {}).items()})
            env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(self.summary), RUNNER_TEMP=str(self.temp),
                       GITHUB_REPOSITORY="owner/repo", PATH=f"{self.bin}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}")
            where = cwd / self.expand(step.get("working-directory", "."))
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.expand(step["run"])],
                                  cwd=where, env=env, capture_output=True, text=True, timeout=600)
            self.stdout += done.stdout
            if "id" in step:
                self.steps[step["id"]] = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
            if done.returncode != 0:
                self.failed_with = done.returncode
                return


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    shutil.copytree(MIGRATIONS, repo / "migrations")
    (repo / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "migrations"\n')
    return repo


def test_the_action_annotates_uploads_sarif_comments_and_fails_on_a_dangerous_migration(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    (repo / "migrations" / "0004_index.sql").write_text("-- depends: 0003_api_keys_usage\n-- lock_timeout: 2s\n"
                                                        "CREATE INDEX users_display_name_idx ON users (display_name);\n")
    (repo / "migrations" / "0004_index.rollback.sql").write_text("DROP INDEX users_display_name_idx;\n")
    runner = StandInRunner(tmp_path, {"command": "lint", "install": "false", "comment": "true"}, "pull_request", 7)
    runner.run(repo)
    assert runner.steps["run"]["exit-code"] == "1" and runner.failed_with == 1  # the job fails
    assert "::error file=migrations/0004_index.sql,line=3,col=1,title=index-not-concurrently" in runner.stdout
    [(uses, given)] = runner.used
    assert uses.startswith("github/codeql-action/upload-sarif@") and given["category"] == "schema-tools-lint"
    sarif = json.loads(Path(given["sarif_file"]).read_text())
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"] for loc in r["locations"]}
    assert "migrations/0004_index.sql" in uris and not any(u.startswith("/") for u in uris)
    summary = runner.summary.read_text()
    assert summary.startswith("### schema-tools lint: lint: ") and "index-not-concurrently" in summary
    assert runner.gh_args.read_text().split("\n")[:5] == ["pr", "comment", "7", "--repo", "owner/repo"]
    assert "<!-- schema-tools:lint -->" in Path(runner.gh_args.read_text().split("\n")[6]).read_text()


def test_the_action_verifies_against_a_service_database(db_url: str, tmp_path: Path) -> None:
    repo = repository(tmp_path)
    runner = StandInRunner(tmp_path, {"command": "verify", "args": f"--expect {ROOT / 'ralph' / 'stories.toml'}",
                                      "database-url": db_url, "install": "false", "comment": "true"})
    runner.run(repo)
    assert runner.steps["run"]["exit-code"] == "0" and runner.failed_with is None, runner.stdout
    assert "::error" not in runner.stdout and not runner.gh_args.exists()  # a push: no comment
    assert "verify: " in runner.summary.read_text() and "no problems" in runner.summary.read_text()


def assert_a_whole_summary(runner: StandInRunner, headline: str) -> None:
    """The job summary and the comment's body: a headline and a closed code block, on every exit."""
    summary = runner.summary.read_text()
    assert summary.startswith(f"### schema-tools {headline}"), summary
    assert summary.count("```") == 2, summary
    assert (runner.temp / "schema-tools" / "summary.md").read_text() in summary


def test_the_action_refuses_a_command_it_does_not_know(tmp_path: Path) -> None:
    runner = StandInRunner(tmp_path, {"command": "upgrade", "install": "false"})
    runner.run(repository(tmp_path))
    assert runner.steps["run"]["exit-code"] == "2" and runner.failed_with == 2
    assert "::error title=schema-tools upgrade::command 'upgrade' is not one of" in runner.stdout
    assert runner.used == []  # no SARIF to upload
    assert_a_whole_summary(runner, "upgrade: exit 2")


def test_the_action_on_exit_2_still_writes_its_summary_and_fails_with_2(tmp_path: Path) -> None:
    """An unreachable database and an unknown option: exit 2, said in the summary, in an
    annotation and in the comment; no SARIF uploaded; the job fails with 2, not with bash's 1."""
    for inputs, said in (({"command": "verify", "database-url": "postgresql://u:secret@127.0.0.1:1/db"},
                          "cannot connect to postgresql://u:***@127.0.0.1:1/db"),
                         ({"command": "lint", "args": "--no-such-option"}, "unrecognized arguments: --no-such-option")):
        here = tmp_path / inputs["command"]
        here.mkdir()
        runner = StandInRunner(here, {**inputs, "install": "false", "comment": "true"}, "pull_request", 9)
        runner.run(repository(here))
        assert runner.steps["run"]["exit-code"] == "2" and runner.failed_with == 2, runner.stdout
        assert runner.steps["run"]["sarif-file"] == "" and runner.used == []
        assert f"::error title=schema-tools {inputs['command']}::" in runner.stdout
        assert_a_whole_summary(runner, f"{inputs['command']}: exit 2")
        assert said in runner.summary.read_text() and "secret" not in runner.summary.read_text()
        assert runner.gh_args.read_text().split("\n")[:3] == ["pr", "comment", "9"]  # the comment says it too


def test_the_action_migrates_a_service_database_then_verifies_it(empty_db_url: str, tmp_path: Path) -> None:
    repo = repository(tmp_path)
    stories = f"--expect {ROOT / 'ralph' / 'stories.toml'}"
    before = StandInRunner(tmp_path / "before", {"command": "verify", "database-url": empty_db_url, "install": "false",
                                                 "args": stories})
    before.run(repo)
    assert before.failed_with == 1  # a fresh service database: the schema is not there yet
    migrate = StandInRunner(tmp_path / "migrate", {"command": "migrate", "database-url": empty_db_url, "install": "false"})
    migrate.run(repo)
    assert migrate.steps["run"]["exit-code"] == "0" and migrate.failed_with is None, migrate.stdout
    assert "applied 0001_users" in migrate.stdout and migrate.used == []  # no SARIF from migrate
    assert_a_whole_summary(migrate, "migrate: ")
    after = StandInRunner(tmp_path / "after", {"command": "verify", "database-url": empty_db_url, "install": "false",
                                               "args": stories})
    after.run(repo)
    assert after.failed_with is None and after.steps["run"]["exit-code"] == "0", after.stdout


def test_the_action_updates_its_one_comment_in_place(tmp_path: Path) -> None:
    runner = StandInRunner(tmp_path, {"command": "lint", "install": "false", "comment": "true"}, "pull_request", 7,
                           comments="4242\n")
    runner.run(repository(tmp_path))
    calls = runner.gh_calls.read_text().splitlines()
    assert calls[0].startswith("api repos/owner/repo/issues/7/comments --paginate --jq")
    assert "<!-- schema-tools:lint -->" in calls[0]
    assert calls[1].startswith("api --method PATCH repos/owner/repo/issues/comments/4242 -F body=@")
    assert len(calls) == 2  # no new comment


def test_a_fork_pull_request_gets_the_job_summary_only(tmp_path: Path) -> None:
    runner = StandInRunner(tmp_path, {"command": "lint", "install": "false", "comment": "true"}, "pull_request", 7,
                           head="someone/fork")
    runner.run(repository(tmp_path))
    assert not runner.gh_calls.exists() and runner.failed_with is None
    assert "A pull request from a fork (someone/fork)" in runner.summary.read_text()


def test_every_sarif_result_has_a_file_and_line(empty_db_url: str, tmp_path: Path) -> None:
    """verify's invariant findings name database objects: code scanning gets the line that declares them."""
    repo = repository(tmp_path)
    (repo / "migrations" / "0004_twice.sql").write_text(
        "-- depends: 0003_api_keys_usage\n-- transactional: false\n"
        "CREATE INDEX CONCURRENTLY users_display_name_a ON users (display_name);\n"
        "CREATE INDEX CONCURRENTLY users_display_name_b ON users (display_name);\n")
    (repo / "migrations" / "0004_twice.rollback.sql").write_text(
        "DROP INDEX users_display_name_b;\nDROP INDEX users_display_name_a;\n")
    StandInRunner(tmp_path / "m", {"command": "migrate", "database-url": empty_db_url, "install": "false"}).run(repo)
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE made_by_hand (id int)")  # no migration declares it
    runner = StandInRunner(tmp_path, {"command": "verify", "database-url": empty_db_url, "install": "false"})
    runner.run(repo)
    assert runner.failed_with == 1
    [(_, given)] = runner.used
    results = json.loads(Path(given["sarif_file"]).read_text())["runs"][0]["results"]
    places = {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in results}
    assert all("physicalLocation" in r["locations"][0] for r in results), results
    assert places["redundant-index"]["artifactLocation"]["uri"] == "migrations/0004_twice.sql"
    assert places["redundant-index"]["region"]["startLine"] in (3, 4)
    assert places["primary-key"]["artifactLocation"]["uri"] == "migrations/0004_twice.sql"  # declared nowhere: newest


def test_the_readme_s_ci_snippets_use_what_exists() -> None:
    readme = (ROOT / "README.md").read_text().split("## Use in CI", 1)[1].split("\n## ", 1)[0]
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)]
    workflow, precommit = blocks
    inputs = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    ours = [step for job in workflow["jobs"].values() for step in job["steps"] if "schema-tools@" in step.get("uses", "")]
    assert len(ours) == 3 and all(set(step["with"]) <= inputs for step in ours)
    assert {step["with"]["command"] for step in ours} <= {"lint", "verify", "validate", "check-reversible", "drift",
                                                          "integrity", "migrate"}
    action = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"uses: (\S+)", action)) | {u for job in workflow["jobs"].values() for step in job["steps"]
                                                     if (u := step.get("uses", "")) and "schema-tools@" not in u}
    assert used == {"actions/setup-python@v6", "actions/cache@v5", "github/codeql-action/upload-sarif@v4",
                    "actions/checkout@v6"}  # node24 versions, not the deprecated node20 ones
    ids = {hook["id"] for repo in precommit["repos"] for hook in repo["hooks"]}
    assert ids == set(hooks())


# --- the wheel, installed outside the checkout --------------------------------------------------


def test_the_wheel_works_outside_the_checkout(cluster: Cluster, tmp_path: Path) -> None:
    """pip wheel builds; installed alone into a fresh virtualenv (as pipx would), the console
    scripts work from an unrelated folder: --version, lint, db start/stop, ralph log. Nothing is
    downloaded: the wheel builds with the test install's setuptools, and the fresh virtualenv
    finds the dependencies (not the checkout) in the test install's site-packages."""
    import sysconfig
    import zipfile

    from schema_tools.server import embedded

    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(dist)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-1500:]
    [wheel] = dist.glob("schema_tools-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "schema_tools/py.typed" in names and "ralph/cli.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "migrations/"))]
    venv = tmp_path / "isolated"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    alone = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV", "PYTHONPATH")}
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                                str(wheel)], env=alone, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-1500:]
    # The dependencies: a path line (not a site dir, so the checkout's editable finder stays out).
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    (theirs / "dependencies.pth").write_text(f"{ours}\n")
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import schema_tools, psycopg; print(schema_tools.__file__)"],
                           cwd=tmp_path, env=alone, capture_output=True, text=True)
    assert where.stdout.startswith(str(theirs)), where.stdout + where.stderr
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "m").mkdir(parents=True)
    (elsewhere / "m" / "0001_a.sql").write_text("CREATE TABLE a (id bigint PRIMARY KEY);\n")
    (elsewhere / "m" / "0001_a.rollback.sql").write_text("DROP TABLE a;\n")
    status = embedded.status(cluster.settings)
    assert status.binaries is not None
    env = dict(alone)
    env.update(SCHEMA_TOOLS_STATE_DIR=str(tmp_path / "state"), SCHEMA_TOOLS_PG_BINDIR=str(status.binaries.bindir))

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / cmd[0]), *cmd[1:]], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=300)

    version = run("schema-tools", "--version")
    assert version.returncode == 0 and version.stdout.strip() == "schema-tools 0.1.0", version.stdout + version.stderr
    assert run("ralph", "--version").stdout.strip() == "ralph 0.1.0"
    lint = run("schema-tools", "lint", "m")
    assert lint.returncode == 0 and "lint: 1 check, no problems" in lint.stdout, lint.stdout + lint.stderr
    try:
        started = run("schema-tools", "db", "start")
        assert started.returncode == 0, started.stderr
        assert run("schema-tools", "migrate", "--migrations", "m").returncode == 0
        assert "0001_a" in run("schema-tools", "status", "--migrations", "m").stdout
    finally:
        run("schema-tools", "db", "stop")
    (elsewhere / "progress.log").write_text("[2026-01-01T10:00:00.000000+00:00] === Ralph Loop Started (max 1 iterations) ===\n")
    assert "never ended" in run("ralph", "log").stdout


# --- the README's examples --------------------------------------------------------------------

README = (ROOT / "README.md").read_text()


def readme_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_every_readme_toml_block_is_accepted_by_what_reads_it(tmp_path: Path) -> None:
    import tomllib

    from schema_tools import load_expectations, load_settings
    from schema_tools.fleet import read_fleet

    blocks = readme_blocks("toml")
    assert len(blocks) >= 4
    for n, block in enumerate(blocks):
        data = tomllib.loads(block)  # parses
        file = tmp_path / f"block{n}" / ("pyproject.toml" if "tool" in data else "example.toml")
        file.parent.mkdir()
        file.write_text(block)
        if "tables" in data:
            assert load_expectations([file])
        elif "databases" in data or "template" in data:
            assert read_fleet(file)
        elif "tool" in data:
            settings = load_settings(cwd=file.parent)
            assert settings.pyproject == file
        else:
            raise AssertionError(f"README toml block {n} is read by nothing this test knows: {block[:80]}")


def test_every_readme_sh_line_names_options_its_command_has() -> None:
    helps: dict[tuple[str, str], str] = {}
    checked = 0
    for block in readme_blocks("sh"):
        lines: list[str] = []
        for line in block.splitlines():  # an indented line continues the command above it
            if line.startswith(" ") and lines:
                lines[-1] += " " + line.strip()
            elif line.strip():
                lines.append(line.strip())
        for line in lines:
            code = re.sub(r"'[^']*'|\"(?:[^\"\\\\]|\\\\.)*\"", "", line.split(" #", 1)[0])  # quoted: another program's
            words = code.split()
            if words[0] == "make":
                assert re.search(rf"^{words[1]}:", (ROOT / "Makefile").read_text(), re.M), line
                continue
            assert words[0] in ("schema-tools", "ralph"), line
            key = (words[0], words[1])
            if key not in helps:
                done = subprocess.run([str(BIN / words[0]), words[1], "--help"], capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, (line, done.stderr)
                helps[key] = done.stdout
            for flag in re.findall(r"--[a-z][a-z-]*", code):
                assert flag in helps[key], f"README: `{line}` names {flag}, which `{' '.join(key)} --help` does not list"
                checked += 1
    assert checked >= 20
