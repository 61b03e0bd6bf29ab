"""Helpers shared by the benchmark scripts: the embedded server, scratch databases, timing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from schema_tools import database_url, load_settings
from schema_tools.server.embedded import status
from schema_tools.server.urls import with_dbname

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def server_url() -> str:
    """The embedded server's URL (started if needed), or $DATABASE_URL's."""
    return database_url(load_settings(cwd=ROOT))


def psql_path() -> str:
    state = status(load_settings(cwd=ROOT))
    if state.binaries and (state.binaries.bindir / "psql").exists():
        return str(state.binaries.bindir / "psql")
    found = shutil.which("psql")
    if not found:
        raise SystemExit("psql not found: install the PostgreSQL client")
    return found


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """A new empty database, dropped afterwards; yields its URL."""
    url = server_url()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        try:
            yield with_dbname(url, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {done.stderr.strip()[-500:]}")
