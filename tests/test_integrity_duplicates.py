"""Duplicate checks split into key ranges find exactly what one pass finds, on the machine's
PostgreSQL and on 18 (where the presorted count(DISTINCT) branch runs), planted and clean."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from conftest import scalar
from schema_tools.catalog.read import read_catalog
from schema_tools.datachecks import duplicates as dup
from schema_tools.datachecks.model import DUPLICATES, DataCheck
from schema_tools.datachecks.run import run_check

TABLE_ROWS = 6000


@pytest.fixture
def servers(postgresql: psycopg.Connection, newest_server_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[list[psycopg.Connection]]:
    """A table of TABLE_ROWS clean rows on both servers; ranges split from 1,000 rows up."""
    monkeypatch.setattr(dup, "RANGE_SPLIT_MIN_ROWS", 1000)
    postgresql.autocommit = True
    with psycopg.connect(newest_server_url, autocommit=True) as newest:
        newest.execute("DROP TABLE IF EXISTS dupes")
        for conn in (postgresql, newest):
            conn.execute("CREATE TABLE dupes (id bigint PRIMARY KEY, k text, a int, b int)")
            conn.execute("INSERT INTO dupes SELECT g, 'k' || lpad(g::text, 6, '0'), g, g %% 500 "
                         "FROM generate_series(1, %s) g", (TABLE_ROWS,))
            conn.execute("CREATE INDEX dupes_k ON dupes (k)")
            conn.execute("CREATE INDEX dupes_b_a ON dupes (b, a)")  # the key (a, b) in the other order
            conn.execute("VACUUM ANALYZE dupes")
        yield [postgresql, newest]
        newest.execute("DROP TABLE dupes")


def check_on(conn: psycopg.Connection, columns: tuple[str, ...]) -> DataCheck:
    return DataCheck("dup", "duplicates", read_catalog(conn).tables["dupes"], DUPLICATES, "", columns=columns)


def plant(conn: psycopg.Connection, rows: list[tuple[str | None, int, int]]) -> list[int]:
    """Rows added after ANALYZE, so some fall outside the histogram the ranges come from."""
    start = scalar(conn, "SELECT max(id) FROM dupes")
    ids = list(range(start + 1, start + 1 + len(rows)))
    conn.cursor().executemany("INSERT INTO dupes VALUES (%s, %s, %s, %s)", [(i, *r) for i, r in zip(ids, rows)])
    return ids


def expected_samples(ids: list[int]) -> tuple[str, ...]:
    return tuple(sorted(str(i) for i in ids))[:5]  # primary keys as text, in text order


def test_single_column_key_split_into_ranges(servers: list[psycopg.Connection]) -> None:
    for conn in servers:
        check = check_on(conn, ("k",))
        split = dup._split(conn, check)
        assert split is not None and len(split.ranges) >= 3
        assert dup._reads_by_index(conn, dup._groups_by_range_sql(check, split), check)
        assert run_check(conn, check, 5, "0").count == 0

        planted = plant(conn, [("k000001", 0, 0), ("k003000", 0, 0), ("k003000", 0, 0),
                               ("zzz", 0, 0), ("zzz", 0, 0), ("", 0, 0), ("", 0, 0), (None, 0, 0), (None, 0, 0)])
        in_groups = [1, 3000] + planted[:7]  # the NULLs duplicate nothing
        found = run_check(conn, check, 5, "0")
        assert (found.error, found.count, found.groups, found.samples) == ("", 9, 4, expected_samples(in_groups))
        with conn.transaction():
            assert dup._fetch(conn, dup._one_pass_sql(check, check.columns, 5)) == (4, 9, list(found.samples))
            if conn.info.server_version >= dup.PRESORTED_AGGREGATES:
                extra = dup._extra_rows_sql(check, split)
                assert dup._reads_by_index(conn, extra, check)
                assert sum(n for _, n in conn.execute(extra).fetchall()) == 9 - 4  # rows beyond each value's first

        conn.execute("DELETE FROM dupes WHERE id = ANY(%s)", (planted,))
        clean = run_check(conn, check, 5, "0")
        assert (clean.error, clean.count, clean.groups, clean.samples) == ("", 0, 0, ())


def test_two_column_key_ranges_follow_the_index_order(servers: list[psycopg.Connection]) -> None:
    for conn in servers:
        check = check_on(conn, ("a", "b"))
        split = dup._split(conn, check)
        assert split is not None and split.columns == ("b", "a")
        assert dup._reads_by_index(conn, dup._groups_by_range_sql(check, split), check)
        planted = plant(conn, [("x", 10, 10), ("y", 5999, 5999 % 500), ("z", 5999, 5999 % 500), ("w", 10, 11)])
        found = run_check(conn, check, 5, "0")
        assert (found.error, found.count, found.groups, found.samples) == (
            "", 5, 2, expected_samples([10, 5999] + planted[:3]))


def test_an_index_the_ranges_cannot_use_falls_back_to_one_pass(servers: list[psycopg.Connection]) -> None:
    for conn in servers:
        conn.execute("DROP INDEX dupes_k")
        conn.execute("CREATE INDEX dupes_k_pattern ON dupes (k text_pattern_ops)")  # no < or >= on it
        check = check_on(conn, ("k",))
        split = dup._split(conn, check)
        assert split is not None
        assert not dup._reads_by_index(conn, dup._groups_by_range_sql(check, split), check)
        planted = plant(conn, [("k000002", 0, 0)])
        found = run_check(conn, check, 5, "0")
        assert (found.error, found.count, found.groups, found.samples) == ("", 2, 1, expected_samples([2] + planted))


def test_small_tables_take_one_pass(postgresql: psycopg.Connection) -> None:
    postgresql.autocommit = True
    postgresql.execute("CREATE TABLE dupes (id bigint PRIMARY KEY, k text)")
    postgresql.execute("INSERT INTO dupes SELECT g, 'k' || g FROM generate_series(1, 500) g")
    postgresql.execute("CREATE INDEX ON dupes (k)")
    postgresql.execute("ANALYZE dupes")
    assert dup._split(postgresql, check_on(postgresql, ("k",))) is None


def test_a_bound_the_type_cannot_read_back_falls_back_to_one_pass(servers: list[psycopg.Connection]) -> None:
    conn = servers[0]
    check = check_on(conn, ("a", "b"))
    split = dup._split(conn, check)
    assert split is not None
    broken = dup._Split(split.columns, split.ranges[:-1] + (dup._ranges("b", ["not a number"])[0],))
    with conn.transaction():
        assert not dup._reads_by_index(conn, dup._groups_by_range_sql(check, broken), check)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the check's transaction goes on
