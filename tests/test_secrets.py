"""A database password never appears in output, logs, progress.log, .ralph/ records or reports:
every command run against a password-protected database, with failures forced, then searched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import MIGRATIONS, ROOT, Cluster

SECRET = "Zq8-hunter2;pw%Quoted"


def leaks(texts: dict[str, str]) -> list[str]:
    """Where the password (raw or URL-encoded) appears."""
    forms = {SECRET, quote(SECRET, safe=""), quote(SECRET)}
    return sorted(name for name, text in texts.items() if any(form in text for form in forms))


def test_the_search_finds_a_planted_password() -> None:
    assert leaks({"control": f"postgresql://u:{quote(SECRET, safe='')}@h/db", "clean": "nothing"}) == ["control"]
    assert leaks({"raw": f"password {SECRET}"}) == ["raw"]


@pytest.fixture
def secret_database(cluster: Cluster) -> Iterator[str]:
    with cluster.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS secret_db WITH (FORCE)")
        admin.execute("DROP ROLE IF EXISTS secret_owner")
        admin.execute(f"CREATE ROLE secret_owner LOGIN CREATEDB PASSWORD '{SECRET}'")
        admin.execute("CREATE DATABASE secret_db OWNER secret_owner")
    yield f"postgresql://secret_owner:{quote(SECRET, safe='')}@127.0.0.1:{cluster.port}/secret_db"
    with cluster.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS secret_db WITH (FORCE)")
        for (name,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'schema_tools_scratch_%'"):
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute("DROP ROLE IF EXISTS secret_owner")


def test_no_command_leaks_the_password(secret_database: str, tmp_path: Path, cluster: Cluster) -> None:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    (root / "ralph").mkdir()
    (root / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "migrations"\n'
                                         '[tool.schema_tools.verify]\nexpect = ["ralph/stories.toml"]\n')
    shutil.copy(ROOT / "ralph" / "stories.toml", root / "ralph" / "stories.toml")
    for mid in ("0001_users", "0002_core_tables"):
        for suffix in (".sql", ".rollback.sql"):
            shutil.copy(MIGRATIONS / f"{mid}{suffix}", root / "migrations" / f"{mid}{suffix}")
    broken = root / "broken"
    shutil.copytree(root / "migrations", broken)
    (broken / "0003_bad.sql").write_text("-- depends: 0002_core_tables\nCREATE TABLE x (id int REFERENCES nowhere);\n")
    wrong = secret_database.replace(quote(SECRET, safe=""), "not-the-password")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=secret_database, FAKE_AGENT_MODE="broken-then-fixed", FAKE_AGENT_SOURCE=str(MIGRATIONS))
    agent = f"{sys.executable} {Path(__file__).parent / 'fake_agent.py'}"
    runs = [
        ["schema_tools", "migrate"], ["schema_tools", "status", "--json"], ["schema_tools", "validate"],
        ["schema_tools", "plan"], ["schema_tools", "verify", "--format", "sarif"], ["schema_tools", "lint"],
        ["schema_tools", "integrity"], ["schema_tools", "drift"], ["schema_tools", "check-reversible"],
        ["schema_tools", "migrate", "--migrations", str(broken)],           # forced failure
        ["schema_tools", "migrate", "--database", wrong],                   # a wrong password
        ["schema_tools", "status", "--database", secret_database.replace("secret_db", "missing_db")],
        ["schema_tools", "verify", "--database", secret_database, "--debug"],
        ["ralph", "run", "--max-iterations", "2"],                          # SCHEMA-002's file is missing: issues
        ["ralph", "run", "--max-iterations", "3", "--agent", agent],        # the agent writes it
        ["ralph", "log"], ["ralph", "report", "-o", "report.html"],
        ["schema_tools", "rollback", "--all"],
    ]
    texts: dict[str, str] = {}
    for n, args in enumerate(runs):
        done = subprocess.run([sys.executable, "-m", *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        texts[f"{n}: {' '.join(args)} (stdout)"] = done.stdout
        texts[f"{n}: {' '.join(args)} (stderr)"] = done.stderr
    assert "password authentication failed" in texts[f"10: schema_tools migrate --database {wrong} (stderr)"]
    assert "completed with issues" in (root / "progress.log").read_text()
    files = [p for p in root.rglob("*") if p.is_file()]
    assert (root / "report.html").exists() and any(".ralph" in p.parts for p in files)
    texts.update({str(p.relative_to(root)): p.read_text(errors="replace") for p in files})
    assert leaks(texts) == []
