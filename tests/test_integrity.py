"""integrity and pre-flight: planted bad rows found with exact counts and sample keys, clean data
silent, a constraint-adding migration stopped before it runs; and our schema under concurrent load."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
import pytest

from conftest import MIGRATIONS, ROOT, Cli, scalar, settings_for
from schema_tools import commands
from schema_tools.commands import integrity
from schema_tools.findings import Severity

STORIES = ROOT / "ralph" / "stories.toml"
CHECKS = ROOT / "checks" / "integrity.toml"
HASH = "a" * 64


def one(conn: psycopg.Connection, sql: str, *params: object) -> int:
    return int(scalar(conn, sql, params))


def base(conn: psycopg.Connection) -> dict[str, int]:
    """Two tenants, two members, a key each, one usage event: all consistent."""
    ids = {
        "t1": one(conn, "INSERT INTO tenants (name) VALUES ('one') RETURNING id"),
        "t2": one(conn, "INSERT INTO tenants (name) VALUES ('two') RETURNING id"),
        "u1": one(conn, "INSERT INTO users (email) VALUES ('a@x.io') RETURNING id"),
        "u2": one(conn, "INSERT INTO users (email) VALUES ('b@x.io') RETURNING id"),
    }
    conn.execute("INSERT INTO tenant_users (tenant_id, user_id) VALUES (%s, %s), (%s, %s)", (ids["t1"], ids["u1"], ids["t2"], ids["u2"]))
    ids["k1"] = one(conn, "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name) VALUES (%s, %s, 'k1k1', 'k') RETURNING id",
                    ids["t1"], "1" * 64)
    ids["k2"] = one(conn, "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name) VALUES (%s, %s, 'k2k2', 'k') RETURNING id",
                    ids["t2"], "2" * 64)
    conn.execute("INSERT INTO usage_events (tenant_id, api_key_id, user_id, service, action, quantity, period, idempotency_key) "
                 "VALUES (%s, %s, %s, 's', 'a', 1, now() - interval '1 hour', 'ok-1')", (ids["t1"], ids["k1"], ids["u1"]))
    return ids


def usage(conn: psycopg.Connection, tenant: int, key: int | None, idem: str, quantity: int = 1, user: int | None = None) -> int:
    return one(conn, "INSERT INTO usage_events (tenant_id, api_key_id, user_id, service, action, quantity, period, idempotency_key) "
                     "VALUES (%s, %s, %s, 's', 'a', %s, now() - interval '1 hour', %s) RETURNING id", tenant, key, user, quantity, idem)


def plant_duplicates(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    conn.execute("ALTER TABLE usage_events DROP CONSTRAINT usage_events_idempotency_key_key")
    return [usage(conn, ids["t1"], ids["k1"], "dup-1"), usage(conn, ids["t1"], ids["k1"], "dup-1"),
            usage(conn, ids["t1"], ids["k1"], "dup-1")]


def plant_nulls(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    conn.execute("ALTER TABLE tenants ALTER COLUMN name DROP NOT NULL")
    return [one(conn, "INSERT INTO tenants (name) VALUES (NULL) RETURNING id")]


def plant_values(conn: psycopg.Connection, ids: dict[str, int]) -> list[str]:
    conn.execute("ALTER TABLE tenant_users DROP CONSTRAINT tenant_users_role_check")
    conn.execute("UPDATE tenant_users SET role = 'superuser' WHERE user_id = %s", (ids["u2"],))
    return [f"({ids['t2']}, {ids['u2']})"]


def plant_orphans(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    conn.execute("ALTER TABLE usage_events DROP CONSTRAINT usage_events_api_key_id_fkey")
    return [usage(conn, ids["t1"], 999999, "orphan-1"), usage(conn, ids["t1"], 888888, "orphan-2")]


def plant_not_valid_fk(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    conn.execute("ALTER TABLE api_keys DROP CONSTRAINT api_keys_created_by_fkey")
    bad = one(conn, "UPDATE api_keys SET created_by = 424242 WHERE id = %s RETURNING id", ids["k2"])
    conn.execute("ALTER TABLE api_keys ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) "
                 "REFERENCES users (id) ON DELETE SET NULL NOT VALID")
    return [bad]


def plant_not_valid_check(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    bad = usage(conn, ids["t1"], ids["k1"], "big-1", quantity=500)
    conn.execute("ALTER TABLE usage_events ADD CONSTRAINT usage_events_quantity_small CHECK (quantity < 100) NOT VALID")
    return [bad]


def plant_tenant_mixup(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    return [usage(conn, ids["t1"], ids["k2"], "mixup-1")]  # tenant one, key of tenant two


def plant_membership(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    return [one(conn, "INSERT INTO sessions (user_id, tenant_id, service, refresh_token_hash, expires_at) "
                      "VALUES (%s, %s, 'api', %s, now() + interval '1 day') RETURNING id", ids["u2"], ids["t1"], HASH)]


def plant_expired_key(conn: psycopg.Connection, ids: dict[str, int]) -> list[int]:
    return [one(conn, "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, created_at, expires_at) VALUES "
                      "(%s, %s, 'old1', 'old', now() - interval '2 days', now() - interval '1 day') RETURNING id",
                ids["t1"], "3" * 64)]


Plant = Callable[[psycopg.Connection, dict[str, int]], Sequence[object]]
"""Breaks a rule on purpose and returns the keys of the rows that break it."""

PLANTS: dict[str, tuple[Plant, str, Severity]] = {
    "duplicates": (plant_duplicates, "usage_events(idempotency_key) unique", Severity.ERROR),
    "nulls": (plant_nulls, "tenants.name not null", Severity.ERROR),
    "allowed-values": (plant_values, "tenant_users.role in (owner, admin, member)", Severity.ERROR),
    "orphans": (plant_orphans, "usage_events(api_key_id) -> api_keys", Severity.ERROR),
    "orphans (NOT VALID)": (plant_not_valid_fk, "api_keys_created_by_fkey (NOT VALID)", Severity.ERROR),
    "check (NOT VALID)": (plant_not_valid_check, "usage_events_quantity_small (NOT VALID)", Severity.ERROR),
    "tenant-consistency": (plant_tenant_mixup, "usage_events.api_key_id belongs to the row's tenant", Severity.ERROR),
    "membership": (plant_membership, "a session's user is a member of its tenant", Severity.ERROR),
    "warning rows": (plant_expired_key, "api key still active after expires_at", Severity.WARNING),
}


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_planted_bad_rows_are_found_with_count_and_keys(kind: str, postgresql: psycopg.Connection, db_url: str) -> None:
    plant, name, severity = PLANTS[kind]
    postgresql.autocommit = True
    ids = base(postgresql)
    keys = [str(k) for k in plant(postgresql, ids)]
    report = integrity(settings_for(db_url), CHECKS, [STORIES])
    found = [f for f in report.findings if f.message.startswith(name + ":")]
    assert len(found) == 1, [f.message for f in report.findings]
    assert found[0].severity is severity
    count = f"{len(keys)} rows share 1 duplicated value(s)" if kind == "duplicates" else f"{len(keys)} row(s)"
    assert f"{name}: {count}; e.g. primary keys " in found[0].message
    shown = re.findall(r"\(\d+, \d+\)|\d+", found[0].message.rsplit("primary keys ", 1)[1])
    expected = sorted(keys)
    assert shown == expected
    others = [f.message for f in report.findings if f is not found[0]]
    assert others == []


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_clean_data_finds_nothing(kind: str, postgresql: psycopg.Connection, db_url: str) -> None:
    postgresql.autocommit = True
    base(postgresql)
    report = integrity(settings_for(db_url), CHECKS, [STORIES])
    assert report.findings == []
    assert len(report.checks) >= 4


def test_range_checks_and_cli_output(cli: Cli, postgresql: psycopg.Connection, db_url: str, tmp_path: Path) -> None:
    postgresql.autocommit = True
    ids = base(postgresql)
    big = usage(postgresql, ids["t1"], ids["k1"], "big", quantity=50)
    checks = tmp_path / "checks.toml"
    checks.write_text('[[ranges]]\ncolumn = "usage_events.quantity"\nmax = 10\n')
    result = cli("integrity", "--database", db_url, "--checks", str(checks), "--expect", str(STORIES))
    assert result.code == 1
    assert f"usage_events.quantity in range: 1 row(s); e.g. primary keys {big}" in result.out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[ranges]]\ncolumn = "usage_events.nope"\nmax = 10\n')
    result = cli("integrity", "--database", db_url, "--checks", str(bad))
    assert result.code == 2 and "column 'usage_events.nope' does not exist" in result.err


def test_preflight_stops_a_unique_migration_over_duplicates(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        dup = [one(conn, "INSERT INTO tenants (name) VALUES ('acme') RETURNING id") for _ in range(2)]
        conn.execute("INSERT INTO users (email) VALUES ('x@y.z')")
        nameless = one(conn, "INSERT INTO users (email) VALUES ('long.name@y.z') RETURNING id")
    (folder / "0004_tighten.sql").write_text(
        "-- depends: 0003_api_keys_usage\n-- lock_timeout: 2s\n"
        "ALTER TABLE tenants ADD CONSTRAINT tenants_name_key UNIQUE (name);\n"
        "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_short CHECK (length(email) < 6);\n"
        "ALTER TABLE api_keys ADD COLUMN plan text;\nALTER TABLE api_keys ALTER COLUMN plan SET NOT NULL;\n")
    result = cli("migrate", "--preflight", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1, result.out + result.err
    assert f"2 rows share 1 duplicated value(s); e.g. primary keys {dup[0]}, {dup[1]}" in result.out
    assert "ALTER TABLE users ALTER COLUMN display_name SET NOT NULL: 2 row(s)" in result.out
    assert f"CHECK (length(email) < 6): 1 row(s); e.g. primary keys {nameless}" in result.out
    assert "ALTER COLUMN plan SET NOT NULL" not in result.out  # a column the pending migration adds holds no rows
    assert "nothing was applied" in result.out
    assert [s.state for s in commands.status(settings_for(empty_db_url, folder))][-1] == "pending"
    planned = cli("plan", "--database", empty_db_url, "--migrations", str(folder))
    assert planned.code == 0 and "preflight: 0004_tighten" in planned.out


def test_preflight_passes_when_the_data_is_clean(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    (folder / "0004_unique_name.sql").write_text(
        "-- depends: 0003_api_keys_usage\nALTER TABLE tenants ADD CONSTRAINT tenants_name_key UNIQUE (name);\n")
    result = cli("migrate", "--preflight", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 0, result.out + result.err
    assert "applied 0004_unique_name" in result.out


def test_a_key_unique_on_some_of_its_columns_is_not_read(postgresql: psycopg.Connection, tmp_path: Path) -> None:
    """UNIQUE (idempotency_key) makes (tenant_id, idempotency_key) unique too; a plain index does not."""
    from schema_tools.catalog.read import read_catalog
    from schema_tools.datachecks.derive import from_expectations
    from schema_tools.expect.parse import expectations_in

    postgresql.autocommit = True
    expect = tmp_path / "expect.toml"
    expect.write_text('[tables.usage_events]\nunique = [["tenant_id", "idempotency_key"], ["api_key_id", "service"]]\n'
                      '[tables.sessions]\nunique = [["id", "service"]]\n')
    postgresql.execute("CREATE UNIQUE INDEX usage_events_partial ON usage_events (api_key_id) WHERE quantity > 5")
    postgresql.execute("CREATE UNIQUE INDEX usage_events_service ON usage_events (service, action)")
    names = [c.name for c in from_expectations(read_catalog(postgresql), expectations_in(expect))]
    assert names == ["usage_events(api_key_id, service) unique"]  # a partial index and a wider one enforce nothing


def test_preflight_of_a_primary_key_finds_nulls_as_well_as_duplicates(cli: Cli, empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    commands.migrate(settings_for(empty_db_url, folder))
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE legacy (code text, note text)")
        conn.execute("INSERT INTO legacy VALUES ('a', '1'), ('a', '2'), (NULL, '3'), ('b', '4')")
    (folder / "0004_legacy_pk.sql").write_text("-- depends: 0003_api_keys_usage\nALTER TABLE legacy ADD PRIMARY KEY (code);\n")
    result = cli("migrate", "--preflight", "--database", empty_db_url, "--migrations", str(folder))
    assert result.code == 1, result.out + result.err
    assert "2 rows share 1 duplicated value(s)" in result.out
    assert "(code NOT NULL): 1 row(s)" in result.out
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'legacy'::regclass").fetchone() == (0,)


def concurrently(workers: int, job: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def run(n: int) -> None:
        try:
            barrier.wait()
            job(n)
        except BaseException as exc:  # noqa: BLE001 -- collected and asserted on
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_sixteen_writers_with_half_duplicate_idempotency_keys(db_url: str, postgresql: psycopg.Connection) -> None:
    postgresql.autocommit = True
    ids = base(postgresql)

    def writer(n: int) -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for i in range(100):
                key = f"shared-{i}" if i % 2 == 0 else f"own-{n}-{i}"  # half the keys collide across writers
                conn.execute("INSERT INTO usage_events (tenant_id, api_key_id, service, action, quantity, period, "
                             "idempotency_key) VALUES (%s, %s, 's', 'a', 1, now() - interval '1 minute', %s) "
                             "ON CONFLICT (idempotency_key) DO NOTHING", (ids["t1"], ids["k1"], key))

    assert concurrently(16, writer) == []
    rows = postgresql.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM usage_events "
                              "WHERE idempotency_key <> 'ok-1'").fetchone()
    assert rows == (50 + 16 * 50, 50 + 16 * 50)


def test_concurrent_session_upserts_keep_one_row_each(db_url: str, postgresql: psycopg.Connection) -> None:
    postgresql.autocommit = True
    ids = base(postgresql)

    def upsert(n: int) -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            for i in range(30):
                token = f"{n:02d}{i:02d}".ljust(64, "0")
                conn.execute("INSERT INTO sessions (user_id, tenant_id, service, refresh_token_hash, expires_at) "
                             "VALUES (%s, %s, %s, %s, now() + interval '1 day') ON CONFLICT (user_id, tenant_id, service) "
                             "DO UPDATE SET refresh_token_hash = EXCLUDED.refresh_token_hash, expires_at = EXCLUDED.expires_at",
                             (ids["u1"], ids["t1"], f"svc-{i % 3}", token))

    assert concurrently(16, upsert) == []
    rows = postgresql.execute("SELECT service, count(*) FROM sessions GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("svc-0", 1), ("svc-1", 1), ("svc-2", 1)]


def test_orphans_walk_the_index_when_values_are_few(postgresql: psycopg.Connection, db_url: str) -> None:
    """Thousands of rows over four key values: the orphan check descends the api_key_id index
    once per value instead of reading the table, and finds exactly what the full scan finds."""
    from schema_tools.catalog.read import read_catalog
    from schema_tools.datachecks.model import ROWS, DataCheck, Reference
    from schema_tools.datachecks.run import _index_walk_pays, _orphans_by_index_walk_sql, _rows_sql, run_check

    postgresql.autocommit = True
    ids = base(postgresql)
    planted = plant_orphans(postgresql, ids) + [usage(postgresql, ids["t1"], 999999, "orphan-3")]
    postgresql.execute("INSERT INTO usage_events (tenant_id, api_key_id, service, action, quantity, period, idempotency_key) "
                       "SELECT %s, CASE WHEN g %% 2 = 0 THEN %s::bigint ELSE %s::bigint END, 's', 'a', 1, "
                       "now() - interval '1 hour', 'bulk-' || g FROM generate_series(1, 3000) g", (ids["t1"], ids["k1"], ids["k2"]))
    postgresql.execute("ANALYZE usage_events")
    catalog = read_catalog(postgresql)
    events = catalog.tables["usage_events"]
    reference = Reference(("api_key_id",), catalog.tables["api_keys"], ("id",))
    check = DataCheck("orphans", "orphans", events, ROWS, "", reference=reference)
    assert _index_walk_pays(postgresql, check)
    plan = "\n".join(r[0] for r in postgresql.execute(b"EXPLAIN " + _orphans_by_index_walk_sql(check, reference, 5).as_bytes(postgresql)))
    assert "Seq Scan on usage_events" not in plan and "usage_events_api_key_id_idx" in plan, plan

    walked = run_check(postgresql, check, 5, "0")
    scanned = postgresql.execute(_rows_sql(check, 5)).fetchone()
    assert scanned is not None
    assert (walked.error, walked.count, walked.samples) == ("", 3, tuple(sorted(str(k) for k in planted)))
    assert (walked.count, list(walked.samples)) == (scanned[1], scanned[2])
    # removing one orphan value's row leaves the other two
    postgresql.execute("DELETE FROM usage_events WHERE api_key_id = 888888")
    assert run_check(postgresql, check, 5, "0").count == 2
