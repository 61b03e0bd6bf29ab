"""Behaviour of the schema in migrations/: what the seed log promised, enforced by PostgreSQL."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import errors

from conftest import FIXTURES, scalar

HASH = "a" * 64


def seed_columns() -> dict[str, list[str]]:
    """Table -> columns, as the seed log's bullets list them ('- sessions: id, user_id, ...')."""
    tables: dict[str, list[str]] = {}
    for line in (FIXTURES / "seed_progress.log").read_text().splitlines():
        match = re.match(r"^- (\w+): (.+)$", line)
        if match and match.group(1) in {"tenants", "tenant_users", "sessions", "api_keys", "usage_events"}:
            text = re.sub(r"\([^)]*\)", "", match.group(2).split(", UNIQUE(")[0])
            tables[match.group(1)] = [c.strip() for c in text.split(",") if c.strip()]
    return tables


def seed_indexed() -> list[tuple[str, str]]:
    """(table, leading column) pairs from 'Indexes on: a, b, (c, d) for TABLE'."""
    pairs = []
    for line in (FIXTURES / "seed_progress.log").read_text().splitlines():
        match = re.match(r"^- Indexes on: (.+) for (\w+)$", line)
        if match:
            for item in re.findall(r"\(([^)]*)\)|([\w]+)", match.group(1)):
                first = (item[0] or item[1]).split(",")[0].strip()
                pairs.append((match.group(2), first))
    return pairs


def insert_tenant_and_user(conn: psycopg.Connection) -> tuple[int, int]:
    tenant = scalar(conn, "INSERT INTO tenants (name) VALUES ('acme') RETURNING id")
    user = scalar(conn, "INSERT INTO users (email) VALUES ('ann@example.com') RETURNING id")
    return tenant, user


def columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall()
    return dict(rows)


def test_seed_parsers_read_what_the_seed_says() -> None:
    assert seed_columns()["sessions"] == ["id", "user_id", "tenant_id", "service", "refresh_token_hash",
                                          "device_info", "ip_address", "expires_at"]
    assert ("usage_events", "tenant_id") in seed_indexed() and len(seed_indexed()) == 14


@pytest.mark.parametrize("table", ["tenants", "tenant_users", "sessions", "api_keys", "usage_events"])
def test_every_column_the_seed_names_exists(postgresql: psycopg.Connection, table: str) -> None:
    assert set(seed_columns()[table]) <= set(columns(postgresql, table))


def test_column_types_carry_the_stated_meaning(postgresql: psycopg.Connection) -> None:
    assert columns(postgresql, "api_keys")["scopes"] == "jsonb"
    assert columns(postgresql, "sessions")["ip_address"] == "inet"
    for table in ("users", "tenants", "tenant_users", "sessions", "api_keys", "usage_events"):
        for name, kind in columns(postgresql, table).items():
            if name.endswith("_at") or name in ("timestamp", "period"):
                assert kind == "timestamp with time zone", (table, name)


def index_leads(conn: psycopg.Connection) -> set[tuple[str, str]]:
    rows = conn.execute(
        "SELECT i.indrelid::regclass::text, a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid::regclass::text NOT LIKE '%yoyo%' AND i.indisvalid").fetchall()
    return set(rows)


@pytest.mark.parametrize("table,column", seed_indexed())
def test_every_column_the_seed_lists_as_indexed_leads_an_index(postgresql: psycopg.Connection, table: str, column: str) -> None:
    assert (table, column) in index_leads(postgresql)


def test_every_foreign_key_column_leads_an_index(postgresql: psycopg.Connection) -> None:
    fks = postgresql.execute(
        "SELECT conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE contype = 'f'").fetchall()
    assert len(fks) == 9
    assert set(fks) <= index_leads(postgresql)


def test_no_index_is_a_left_prefix_of_another(postgresql: psycopg.Connection) -> None:
    rows = postgresql.execute(
        "SELECT indrelid::regclass::text, indexrelid::regclass::text, indkey::text, indisunique, "
        "indpred IS NOT NULL FROM pg_index WHERE indrelid::regclass::text NOT LIKE '%yoyo%' "
        "AND indrelid::regclass::text NOT LIKE '_schema_tools%'").fetchall()
    redundant = []
    for table, name, keys, unique, partial in rows:
        for other_table, other, other_keys, _, _ in rows:
            if table == other_table and name != other and not unique and not partial:
                if (other_keys + " ").startswith(keys + " "):
                    redundant.append((name, other))
    assert redundant == []


def test_duplicate_session_for_user_tenant_service_is_rejected(postgresql: psycopg.Connection) -> None:
    tenant, user = insert_tenant_and_user(postgresql)
    insert = ("INSERT INTO sessions (user_id, tenant_id, service, refresh_token_hash, expires_at) "
              "VALUES (%s, %s, 'api', %s, now() + interval '1 day')")
    postgresql.execute(insert, (user, tenant, "a" * 64))
    with pytest.raises(errors.UniqueViolation, match="sessions_user_id_tenant_id_service_key"):
        postgresql.execute(insert, (user, tenant, "b" * 64))


@pytest.mark.parametrize("table,sql", [
    ("tenant_users", "INSERT INTO tenant_users (tenant_id, user_id, role) VALUES (%(t)s, %(u)s, 'superuser')"),
    ("api_keys", "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, quota_period) "
                 "VALUES (%(t)s, repeat('a', 64), 'abcd', 'k', 'week')"),
    ("api_keys", "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, status) "
                 "VALUES (%(t)s, repeat('a', 64), 'abcd', 'k', 'paused')"),
    ("api_keys", "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, quota_limit) "
                 "VALUES (%(t)s, repeat('a', 64), 'abcd', 'k', -1)"),
    ("api_keys", "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name) "
                 "VALUES (%(t)s, 'sk_live_raw_key_not_a_hash', 'abcd', 'k')"),
    ("tenants", "INSERT INTO tenants (name, global_quota_limit) VALUES ('x', -5)"),
    ("usage_events", "INSERT INTO usage_events (tenant_id, service, action, quantity, period, idempotency_key) "
                     "VALUES (%(t)s, 's', 'a', 0, now(), 'k')"),
    ("sessions", "INSERT INTO sessions (user_id, tenant_id, service, refresh_token_hash, expires_at) "
                 "VALUES (%(u)s, %(t)s, 's', repeat('a', 64), now() - interval '1 hour')"),
    ("users", "INSERT INTO users (email) VALUES ('not-an-email')"),
])
def test_values_outside_their_set_or_range_are_rejected(postgresql: psycopg.Connection, table: str, sql: str) -> None:
    tenant, user = insert_tenant_and_user(postgresql)
    with pytest.raises(errors.CheckViolation, match=table):
        postgresql.execute(sql, {"t": tenant, "u": user})


def test_duplicate_idempotency_key_is_rejected(postgresql: psycopg.Connection) -> None:
    tenant, _ = insert_tenant_and_user(postgresql)
    insert = ("INSERT INTO usage_events (tenant_id, service, action, quantity, period, idempotency_key) "
              "VALUES (%s, 'search', 'query', 1, date_trunc('day', now()), 'req-1')")
    postgresql.execute(insert, (tenant,))
    with pytest.raises(errors.UniqueViolation, match="usage_events_idempotency_key_key"):
        postgresql.execute(insert, (tenant,))


def test_email_is_unique_whatever_its_case(postgresql: psycopg.Connection) -> None:
    postgresql.execute("INSERT INTO users (email) VALUES ('Ann@Example.com')")
    with pytest.raises(errors.UniqueViolation, match="users_email_lower_key"):
        postgresql.execute("INSERT INTO users (email) VALUES ('ann@example.COM')")


def populate(conn: psycopg.Connection) -> tuple[int, int, int]:
    tenant, user = insert_tenant_and_user(conn)
    conn.execute("INSERT INTO tenant_users (tenant_id, user_id, role) VALUES (%s, %s, 'owner')", (tenant, user))
    conn.execute("INSERT INTO sessions (user_id, tenant_id, service, refresh_token_hash, expires_at) "
                 "VALUES (%s, %s, 'api', %s, now() + interval '1 day')", (user, tenant, HASH))
    key = scalar(conn, "INSERT INTO api_keys (tenant_id, key_hash, key_prefix, name, created_by) "
                       "VALUES (%s, %s, 'abcd', 'ci', %s) RETURNING id", (tenant, HASH, user))
    conn.execute("INSERT INTO usage_events (tenant_id, api_key_id, user_id, service, action, quantity, period, idempotency_key) "
                 "VALUES (%s, %s, %s, 'search', 'query', 3, date_trunc('hour', now()), 'req-1')", (tenant, key, user))
    return tenant, user, key


def count(conn: psycopg.Connection, table: str) -> int:
    return int(scalar(conn, f"SELECT count(*) FROM {table}"))


def test_deleting_a_tenant_removes_everything_it_owns_and_keeps_users(postgresql: psycopg.Connection) -> None:
    tenant, _, _ = populate(postgresql)
    postgresql.execute("DELETE FROM tenants WHERE id = %s", (tenant,))
    assert [count(postgresql, t) for t in ("tenant_users", "sessions", "api_keys", "usage_events", "users")] == [0, 0, 0, 0, 1]


def test_an_api_key_with_usage_cannot_be_deleted(postgresql: psycopg.Connection) -> None:
    _, _, key = populate(postgresql)
    with pytest.raises(errors.ForeignKeyViolation, match="usage_events_api_key_id_fkey"):
        postgresql.execute("DELETE FROM api_keys WHERE id = %s", (key,))


def test_deleting_a_user_keeps_usage_and_keys_and_ends_sessions(postgresql: psycopg.Connection) -> None:
    _, user, key = populate(postgresql)
    postgresql.execute("DELETE FROM users WHERE id = %s", (user,))
    assert postgresql.execute("SELECT user_id FROM usage_events").fetchone() == (None,)
    assert postgresql.execute("SELECT created_by FROM api_keys WHERE id = %s", (key,)).fetchone() == (None,)
    assert [count(postgresql, t) for t in ("sessions", "tenant_users")] == [0, 0]


def test_revoked_at_is_set_exactly_when_a_key_is_revoked(postgresql: psycopg.Connection) -> None:
    _, _, key = populate(postgresql)
    with pytest.raises(errors.CheckViolation, match="api_keys_revoked_iff_status"):
        postgresql.execute("UPDATE api_keys SET status = 'revoked' WHERE id = %s", (key,))
    postgresql.rollback()
    _, _, key = populate(postgresql)
    postgresql.execute("UPDATE api_keys SET status = 'revoked', revoked_at = now() WHERE id = %s", (key,))
