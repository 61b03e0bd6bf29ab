"""Property: a random real-shaped history (holding what hand-written models got wrong), migrated,
has no drift; one random change made by hand afterwards is reported, and nothing else."""

from __future__ import annotations

import random
import secrets
import tempfile
from pathlib import Path

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Cluster, settings_for
from schema_tools import commands
from shapes import write_history

CHANGES = ("index", "default", "column")


def _hand_change(conn: psycopg.Connection, how: str, pick: random.Random) -> str:
    """Make one change by hand; the drift message it should give."""
    tables = [r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = "
                                         "'public'::regnamespace AND relname ~ '^(account|event)_' ORDER BY 1")]
    table = pick.choice(tables)
    if how == "index":
        conn.execute(f"CREATE INDEX hand_made ON {table} (id DESC)")
        return f"index public.hand_made on public.{table} exists in the database but no migration makes it"
    if how == "column":
        conn.execute(f"ALTER TABLE {table} ADD COLUMN hand_made integer")
        return f"column public.{table}.hand_made exists in the database but no migration makes it"
    column, before = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END"
        " || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = %s::regclass AND a.attname ~ '^name' "
        "AND NOT a.attisdropped", (table,)).fetchone() or ("", "")
    conn.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT \'by hand\'')
    after = before.split(" default ")[0] + " default 'by hand'::text"
    return f"column public.{table}.{column}: {before} in the files, {after} in the database"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), count=st.integers(15, 70), how=st.sampled_from(CHANGES))
def test_migrate_then_drift_is_nothing_then_exactly_the_hand_change(cluster: Cluster, seed: int, count: int,
                                                                     how: str) -> None:
    name = f"prop_{secrets.token_hex(4)}"
    with cluster.admin() as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        with tempfile.TemporaryDirectory() as folder:
            write_history(Path(folder), count, seed=seed, hard=True)
            url = cluster.url(name)
            current = settings_for(url, Path(folder))
            commands.migrate(current)
            report = commands.drift(current, [])
            assert report.errors == [], [f.message for f in report.errors]
            with psycopg.connect(url, autocommit=True) as conn:
                expected = _hand_change(conn, how, random.Random(seed))
            assert [f.message for f in commands.drift(current, []).errors] == [expected]
    finally:
        with cluster.admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
