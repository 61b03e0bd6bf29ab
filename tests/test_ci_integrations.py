"""Where CI users live: the pre-commit hooks, run the way pre-commit runs them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import FIXTURES, MIGRATIONS, ROOT

BIN = Path(sys.executable).parent


def hooks() -> dict[str, dict]:  # type: ignore[type-arg]
    return {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def run_hook(hook: dict, cwd: Path, changed: list[str]) -> subprocess.CompletedProcess[str] | None:  # type: ignore[type-arg]
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
    assert clean is not None and clean.returncode == 0, clean.stdout + clean.stderr
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
    assert clean is not None and clean.returncode == 0, clean.stdout + clean.stderr
