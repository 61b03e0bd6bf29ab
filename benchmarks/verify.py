"""verify against the bare catalog read and against pgTAP, on a generated 1,000-table schema.

Each table: 5 columns, a primary key, a foreign key, a unique constraint, one plain and one
partial index. The expectations cover all of it: 11 facts per table (the table, 5 columns with
type and nullability, the primary key, the foreign key with its action, the unique, the plain
index as "indexed on", the partial index by exact shape). pgTAP runs the equivalent 11
assertions per table (has_table, col_type_is x5, col_is_pk, fk_ok, col_is_unique, has_index x2)
through psql in one session.

The whole `schema-tools verify` process is timed against a bare process that does only what any
Python tool must do for the same check: start the interpreter, import psycopg, connect and run the
same four catalog queries (target: verify's process <= 0.6 s on a quiet machine). Loading the
expectations is timed against tomllib's bare parse of the same file. Both pairs are interleaved,
best of ROUNDS: on these noisy machines noise only ever adds.

Set-up: Debian's postgresql-15-pgtap is installed with apt-get when missing (needs root and a
server built from the system's PostgreSQL 15 binaries).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import psycopg

from _common import BIN, fresh_database, psql_path, run, timed
from schema_tools.catalog.model import BOOKKEEPING
from schema_tools.catalog.read import ATTACHED_SQL, COLUMNS_SQL, CONSTRAINTS_SQL, INDEXES_SQL, read_catalog
from schema_tools.expect.check import check_catalog
from schema_tools.expect.parse import expectations_in

TABLES = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
ROUNDS = 7


def schema_sql(n: int) -> str:
    parts = ["CREATE TABLE t0 (id bigint PRIMARY KEY);"]
    for i in range(1, n + 1):
        parts.append(f"""
CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id bigint NOT NULL
    REFERENCES t{i - 1} (id) ON DELETE CASCADE, code text NOT NULL UNIQUE, v integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX t{i}_parent_id_idx ON t{i} (parent_id);
CREATE INDEX t{i}_v_positive_idx ON t{i} (v) WHERE v > 0;""")
    return "\n".join(parts)


def expectations_toml(n: int) -> str:
    parts = []
    for i in range(1, n + 1):
        parts.append(f"""[tables.t{i}]
columns.id = "bigint not null"
columns.parent_id = "bigint not null"
columns.code = "text not null"
columns.v = "integer not null"
columns.created_at = "timestamptz not null"
primary_key = ["id"]
foreign_keys = [{{columns = ["parent_id"], references = "t{i - 1}(id)", on_delete = "cascade"}}]
unique = [["code"]]
indexed = ["parent_id"]
indexes.t{i}_v_positive_idx = {{keys = ["v"], where = "v > 0"}}
""")
    return "\n".join(parts)


def pgtap_sql(n: int) -> str:
    lines = ["\\set QUIET 1", "\\pset format unaligned", "\\pset tuples_only true", "BEGIN;",
             f"SELECT plan({n * 11});"]
    for i in range(1, n + 1):
        t = f"'t{i}'"
        lines += [
            f"SELECT has_table({t});",
            f"SELECT col_type_is({t}, 'id', 'bigint');",
            f"SELECT col_type_is({t}, 'parent_id', 'bigint');",
            f"SELECT col_type_is({t}, 'code', 'text');",
            f"SELECT col_type_is({t}, 'v', 'integer');",
            f"SELECT col_type_is({t}, 'created_at', 'timestamp with time zone');",
            f"SELECT col_is_pk({t}, 'id');",
            f"SELECT fk_ok({t}, 'parent_id', 't{i - 1}', 'id');",
            f"SELECT col_is_unique({t}, 'code');",
            f"SELECT has_index({t}, 't{i}_parent_id_idx', 'parent_id');",
            f"SELECT has_index({t}, 't{i}_v_positive_idx', 'v');",
        ]
    lines += ["SELECT * FROM finish();", "ROLLBACK;"]
    return "\n".join(lines)


def bare_catalog_read(url: str) -> list[str]:
    """A process that only imports psycopg, connects and runs verify's four catalog queries."""
    queries = [COLUMNS_SQL, CONSTRAINTS_SQL, INDEXES_SQL, ATTACHED_SQL]
    params = {"schemas": None, "skip": list(BOOKKEEPING)}
    code = (f"import psycopg\nwith psycopg.connect({url!r}, autocommit=True) as conn:\n"
            f"    for query in {queries!r}:\n        conn.execute(query, {params!r}).fetchall()\n")
    return [sys.executable, "-c", code]


def whole(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {(done.stderr or done.stdout)[-500:]}")
    return elapsed


def best_of(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    """The best time of each contender, run in turn round by round."""
    times: dict[str, float] = {}
    for _ in range(rounds):
        for name, run_once in contenders.items():
            times[name] = min(times.get(name, float("inf")), run_once())
    return times


def ensure_pgtap(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'").fetchone():
            return
        major = conn.info.server_version // 10000
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"pgTAP is not installed: apt-get install postgresql-{major}-pgtap (as root)")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", f"postgresql-{major}-pgtap"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_database("bench_verify") as url:
        ensure_pgtap(url)
        expect = Path(tmp) / "expect.toml"
        expect.write_text(expectations_toml(TABLES))
        tap = Path(tmp) / "tap.sql"
        tap.write_text(pgtap_sql(TABLES))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(schema_sql(TABLES).encode())
            conn.execute("CREATE EXTENSION pgtap")
            expectations = expectations_in(expect)
            facts = sum(len(c.findings) == 0 for c in check_catalog(read_catalog(conn), expectations, invariants=False).checks)
            times: dict[str, float] = {}
            for _ in range(ROUNDS):
                started = time.perf_counter()
                read_catalog(conn)
                bare = time.perf_counter() - started
                started = time.perf_counter()
                report = check_catalog(read_catalog(conn), expectations, invariants=False)
                ours = time.perf_counter() - started
                assert report.exit_code == 0, "the generated schema must satisfy its expectations"
                started = time.perf_counter()
                check_catalog(read_catalog(conn), expectations)
                with_invariants = time.perf_counter() - started
                for name, seconds in (("catalog read", bare), ("verify", ours), ("verify + invariants", with_invariants)):
                    times[name] = min(times.get(name, seconds), seconds)
        text = expect.read_text()
        load = best_of(ROUNDS, {"load expectations": lambda: timed(lambda: expectations_in(expect)),
                                "tomllib.loads": lambda: timed(lambda: tomllib.loads(text))})
        command = [str(BIN / "schema-tools"), "verify", "--database", url, "--expect", str(expect), "--no-invariants"]
        process = best_of(ROUNDS, {"schema-tools verify": lambda: whole(command),
                                   "bare catalog read": lambda: whole(bare_catalog_read(url))})
        started = time.perf_counter()
        out = subprocess.run([psql_path(), url, "-X", "-v", "ON_ERROR_STOP=1", "-f", str(tap)],
                             capture_output=True, text=True)
        times["pgTAP (psql)"] = time.perf_counter() - started
        if out.returncode != 0 or "not ok" in out.stdout:
            raise SystemExit(f"pgTAP run failed: {(out.stderr or out.stdout)[-500:]}")
    print(f"{TABLES} tables, {facts} facts checked by verify, {TABLES * 11} pgTAP assertions "
          f"(best of {ROUNDS}, pairs interleaved; pgTAP timed once)")
    for name, seconds in times.items():
        print(f"  {name:<32} {seconds * 1000:9.1f} ms")
    print(f"verify / catalog read = {times['verify'] / times['catalog read']:.2f} (target <= 1.5)")
    print(f"load expectations {load['load expectations'] * 1000:.0f} ms = "
          f"{load['load expectations'] / load['tomllib.loads']:.2f}x tomllib's bare parse of the file "
          f"({load['tomllib.loads'] * 1000:.0f} ms)")
    print(f"schema-tools verify, whole process {process['schema-tools verify'] * 1000:.0f} ms = "
          f"{process['schema-tools verify'] / process['bare catalog read']:.2f}x a bare process reading the catalog "
          f"(python + psycopg + the 4 queries: {process['bare catalog read'] * 1000:.0f} ms); target <= 600 ms quiet")
    print(f"pgTAP / verify = {times['pgTAP (psql)'] / times['verify']:.1f}x (target >= 25); "
          f"pgTAP / schema-tools verify process = {times['pgTAP (psql)'] / process['schema-tools verify']:.1f}x")


if __name__ == "__main__":
    main()
