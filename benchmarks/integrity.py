"""Data checks on usage_events with 5,000,000 rows generated in SQL: each check's time against
`SELECT count(*)` over the same table, best of ROUNDS, in the same run. Target: the duplicate and
orphan checks within 2x of that scan.

Also printed, for scale: the key read in index order by one process (the floor of any exact
duplicate check that uses the index), the duplicate check without key ranges, and the
CREATE UNIQUE INDEX a pre-flight check guards (rolled back). Runs on the embedded server, or on
$DATABASE_URL's (e.g. a PostgreSQL 16+ server, where presorted aggregates halve the check).
"""

from __future__ import annotations

import sys
import time

import psycopg
from psycopg import sql

from _common import ROOT, fresh_database
from schema_tools import load_settings, migrate
from schema_tools.catalog.read import read_catalog
from schema_tools.datachecks import duplicates
from schema_tools.datachecks.derive import from_catalog
from schema_tools.datachecks.model import DUPLICATES, ROWS, DataCheck, Reference, col
from schema_tools.datachecks.run import run_check
from schema_tools.findings import Severity

ROWS_WANTED = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
ROUNDS = 3

LOAD = """
INSERT INTO tenants (name) SELECT 'tenant ' || g FROM generate_series(1, 1000) g;
INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 10000) g;
INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name)
    SELECT (g % 1000) + 1, md5(g::text) || md5((g + 1)::text), 'k' || lpad(g::text, 5, '0'), 'key ' || g
    FROM generate_series(1, 10000) g;
INSERT INTO usage_events (tenant_id, api_key_id, user_id, service, action, quantity, period, "timestamp", idempotency_key)
    SELECT ((k + 1) % 1000) + 1, k + 1, (g % 10000) + 1, 'svc' || (g % 7), 'act' || (g % 5), (g % 9) + 1,
           date_trunc('day', now()) - interval '1 day', now() - interval '1 hour', 'req-' || g
    FROM generate_series(1, {rows}) g, LATERAL (SELECT (g % 10000) AS k) x;
"""


def timed(conn: psycopg.Connection, action) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def scale(conn: psycopg.Connection, baseline: float, heap: float, check: DataCheck) -> None:
    """The figures a duplicate check is bounded by, below and above."""
    def line(name: str, seconds: float) -> None:
        print(f"  {name:<78} {seconds:6.2f} s {seconds / baseline:5.2f}x {seconds / heap:5.2f}x of the table scan")

    with conn.transaction():
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off")
        line("floor: idempotency_key read in index order, one process, no comparison", timed(conn, lambda: conn.execute(
            "SELECT count(*) FROM (SELECT idempotency_key FROM usage_events ORDER BY 1) s").fetchone()))
    saved = duplicates.RANGE_SPLIT_MIN_ROWS
    duplicates.RANGE_SPLIT_MIN_ROWS = 1 << 62
    try:
        line(f"{check.name}, one pass (no key ranges)", timed(conn, lambda: run_check(conn, check, 5, "0")))
    finally:
        duplicates.RANGE_SPLIT_MIN_ROWS = saved

    def build() -> None:
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE UNIQUE INDEX bench_unique ON usage_events (idempotency_key)")
    line("CREATE UNIQUE INDEX on idempotency_key, rolled back (what a pre-flight guards)", timed(conn, build))


def main() -> None:
    with fresh_database("bench_integrity") as url:
        settings = load_settings(cwd=ROOT).with_database(url)
        migrate(settings)
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            keep = ("usage_events_pkey", "usage_events_idempotency_key_key", "usage_events_api_key_id_idx")
            defs = [d for (d,) in conn.execute(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'usage_events'::regclass "
                "AND NOT indexrelid::regclass::text = ANY(%s)", (list(keep),)).fetchall()]
            for (name,) in conn.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = "
                                        "'usage_events'::regclass AND NOT indexrelid::regclass::text = ANY(%s)",
                                        (list(keep),)).fetchall():
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            conn.execute(LOAD.format(rows=ROWS_WANTED).encode())
            for definition in defs:
                conn.execute(definition.encode())
            conn.execute("VACUUM ANALYZE")
            print(f"loaded {ROWS_WANTED:,} usage_events in {time.perf_counter() - started:.0f} s")
            catalog = read_catalog(conn)
            events, api_keys = catalog.tables["usage_events"], catalog.tables["api_keys"]
            checks = [
                DataCheck("duplicates: usage_events(idempotency_key)", "duplicates", events, DUPLICATES, "",
                          columns=("idempotency_key",)),
                DataCheck("duplicates: usage_events(service, action, tenant_id, idempotency_key) (no index)",
                          "duplicates", events, DUPLICATES, "", columns=("service", "action", "tenant_id", "idempotency_key")),
                DataCheck("orphans: usage_events(api_key_id) -> api_keys", "orphans", events, ROWS, "",
                          reference=Reference(("api_key_id",), api_keys, ("id",))),
                DataCheck("orphans, scan path (a column with many distinct values gets this)", "orphans", events, ROWS,
                          "", predicate=Reference(("api_key_id",), api_keys, ("id",)).orphan_predicate()),
                DataCheck("nulls: usage_events.user_id", "nulls", events, ROWS, "",
                          predicate=sql.SQL("{} IS NULL").format(col("user_id"))),
                DataCheck("allowed values: usage_events.service", "allowed-values", events, ROWS, "", Severity.ERROR,
                          predicate=sql.SQL("{0} IS NOT NULL AND {0}::text <> ALL({1})").format(
                              col("service"), sql.Literal([f"svc{i}" for i in range(7)]))),
                DataCheck("range: usage_events.quantity <= 10", "range", events, ROWS, "",
                          predicate=sql.SQL("{} > 10").format(col("quantity"))),
            ] + [c for c in from_catalog(catalog) if c.table.name == "usage_events"]
            print(f"PostgreSQL {conn.info.server_version}, max_parallel_workers_per_gather "
                  f"{conn.execute('SHOW max_parallel_workers_per_gather').fetchone()[0]}")  # type: ignore[index]
            baseline = timed(conn, lambda: conn.execute("SELECT count(*) FROM usage_events").fetchone())
            print(f"  {'SELECT count(*) FROM usage_events':<78} {baseline:6.2f} s   1.00x")
            with conn.transaction():
                conn.execute("SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_indexscan = off; "
                             "SET LOCAL enable_bitmapscan = off")
                heap = timed(conn, lambda: conn.execute("SELECT count(*) FROM usage_events").fetchone())
            print(f"  {'the same, forced to read the table (sequential scan)':<78} {heap:6.2f} s {heap / baseline:5.2f}x")
            scale(conn, baseline, heap, checks[0])
            for check in checks:
                results: list = []
                seconds = timed(conn, lambda: results.append(run_check(conn, check, 5, "0")))  # noqa: B023 -- called at once
                found = results[-1]
                status = f"error: {found.error}" if found.error else f"{found.count} bad"
                print(f"  {check.name[:78]:<78} {seconds:6.2f} s {seconds / baseline:5.2f}x "
                      f"{seconds / heap:5.2f}x of the table scan  ({status})")


if __name__ == "__main__":
    main()
