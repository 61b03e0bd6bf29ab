"""migrate --fleet on 50 databases of the local server: --jobs 8 against --jobs 1 (one after
another), in the same run, each on fresh databases."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from _common import BIN, server_url
from schema_tools.server.urls import with_dbname

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 50


def databases(prefix: str) -> list[str]:
    names = [f"{prefix}_{i:02d}" for i in range(COUNT)]
    with psycopg.connect(server_url(), autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    return names


def drop(names: list[str]) -> None:
    with psycopg.connect(server_url(), autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(jobs: int, tmp: Path) -> float:
    names = databases(f"bench_fleet_j{jobs}")
    fleet = tmp / f"fleet-{jobs}.toml"
    fleet.write_text("databases = " + json.dumps([with_dbname(server_url(), n) for n in names]) + "\n")
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "schema-tools"), "migrate", "--fleet", str(fleet), "--jobs", str(jobs)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    drop(names)
    if done.returncode != 0:
        raise SystemExit(f"fleet run failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sequential = run(1, Path(tmp))
        parallel = run(8, Path(tmp))
    print(f"migrate --fleet, {COUNT} databases (3 migrations each), whole process:")
    print(f"  --jobs 1   {sequential:6.2f} s")
    print(f"  --jobs 8   {parallel:6.2f} s")
    print(f"speed-up: {sequential / parallel:.2f}x (2 cores here)")


if __name__ == "__main__":
    main()
