"""The lock table is judged by the server: each statement runs in a transaction on a real
database and the strongest lock pg_locks shows on a relation that existed before it must be the
lock ``Statement.lock`` says ("none" kinds: at most ACCESS SHARE). Statements that cannot run in a
transaction (CONCURRENTLY, VACUUM) are checked against the documentation only."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from conftest import Cluster
from schema_tools.sql.locks import STRENGTH, lock_for

SETUP = """
CREATE TABLE parent (id bigint PRIMARY KEY, v int, note text);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint, v int, note text);
CREATE INDEX child_v_idx ON child (v);
CREATE VIEW parent_view AS SELECT id FROM parent;
CREATE MATERIALIZED VIEW parent_mv AS SELECT id FROM parent;
CREATE UNIQUE INDEX parent_mv_id ON parent_mv (id);
CREATE TABLE part (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE part_2020 (id bigint, at date);
CREATE TABLE part_2021 PARTITION OF part FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
CREATE INDEX part_id_idx ON ONLY part (id);
CREATE INDEX part_2021_id_idx ON part_2021 (id);
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER child_trg BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION trg();
CREATE TYPE mood AS ENUM ('a', 'b');
CREATE TABLE feelings (m mood);
CREATE SEQUENCE seq1;
CREATE SCHEMA other;
CREATE TABLE other.thing (id int);
CREATE FUNCTION lonely() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE unused AS ENUM ('x');
ALTER TABLE child ADD CONSTRAINT child_v_check CHECK (v > 0) NOT VALID;
ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
CREATE RULE parent_rule AS ON UPDATE TO parent DO ALSO NOTIFY parent;
"""

STATEMENTS = """
CREATE INDEX ON child (note)
CREATE UNIQUE INDEX child_note_u ON child (note)
DROP INDEX child_v_idx
DROP INDEX IF EXISTS public.child_v_idx
REINDEX INDEX child_v_idx
REINDEX TABLE child
CREATE TABLE p2 PARTITION OF part FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')
CREATE TABLE newt (id int REFERENCES parent (id))
CREATE TABLE newt2 (id int, FOREIGN KEY (id) REFERENCES parent (id))
CREATE TABLE newt3 (id int)
CREATE TABLE newt4 (LIKE parent)
CREATE TABLE newt5 () INHERITS (parent)
CREATE TABLE newt6 AS SELECT * FROM parent
CREATE UNLOGGED TABLE newt7 (id int)
ALTER TABLE child VALIDATE CONSTRAINT child_v_check
ALTER TABLE child VALIDATE CONSTRAINT child_parent_fk
ALTER TABLE part DETACH PARTITION part_2021
ALTER TABLE part ATTACH PARTITION part_2020 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')
ALTER TABLE child ADD CONSTRAINT fk2 FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID
ALTER TABLE child ADD CONSTRAINT fk3 FOREIGN KEY (parent_id) REFERENCES parent (id)
ALTER TABLE child ADD FOREIGN KEY (parent_id) REFERENCES parent (id)
ALTER TABLE child ADD CONSTRAINT c2 CHECK (v > 1) NOT VALID
ALTER TABLE child ADD CONSTRAINT u1 UNIQUE (note)
ALTER TABLE child ADD COLUMN x int
ALTER TABLE child ADD COLUMN y int REFERENCES parent (id)
ALTER TABLE child SET (fillfactor = 90)
ALTER TABLE child RESET (fillfactor)
ALTER TABLE child SET (autovacuum_enabled = false)
ALTER TABLE child ALTER COLUMN v SET STATISTICS 100
ALTER TABLE child ALTER COLUMN v SET (n_distinct = 10)
ALTER TABLE child ALTER COLUMN note SET STORAGE EXTERNAL
ALTER TABLE child CLUSTER ON child_v_idx
ALTER TABLE child SET WITHOUT CLUSTER
ALTER TABLE child DISABLE TRIGGER child_trg
ALTER TABLE child ENABLE ALWAYS TRIGGER child_trg
ALTER TABLE child DISABLE TRIGGER ALL
ALTER TABLE child ALTER COLUMN v SET NOT NULL
ALTER TABLE child ALTER COLUMN v TYPE bigint
ALTER TABLE child DROP COLUMN note
ALTER TABLE child OWNER TO CURRENT_USER
ALTER TABLE child SET SCHEMA other
ALTER TABLE child RENAME TO child2
ALTER TABLE child RENAME v TO w
ALTER TABLE child RENAME CONSTRAINT child_v_check TO cc
ALTER TABLE child VALIDATE CONSTRAINT child_v_check, ADD COLUMN z int
ALTER TABLE child SET (fillfactor = 80), ALTER COLUMN v SET STATISTICS 50
ALTER TABLE child ALTER COLUMN v SET NOT NULL, ADD CONSTRAINT fk4 FOREIGN KEY (parent_id) REFERENCES parent (id)
ALTER INDEX child_v_idx RENAME TO child_v_idx2
ALTER INDEX child_v_idx SET (fillfactor = 80)
ALTER INDEX child_v_idx SET TABLESPACE pg_default
ALTER INDEX part_id_idx ATTACH PARTITION part_2021_id_idx
ALTER VIEW parent_view RENAME TO pv2
ALTER VIEW parent_view OWNER TO CURRENT_USER
ALTER MATERIALIZED VIEW parent_mv RENAME TO pm2
ALTER MATERIALIZED VIEW parent_mv SET (fillfactor = 70)
ALTER INDEX child_v_idx DEPENDS ON EXTENSION plpgsql
DROP TABLE child
DROP TABLE IF EXISTS child, parent CASCADE
TRUNCATE child
CREATE TRIGGER t2 AFTER UPDATE ON child FOR EACH ROW EXECUTE FUNCTION trg()
CREATE OR REPLACE TRIGGER child_trg BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION trg()
DROP TRIGGER child_trg ON child
ALTER TRIGGER child_trg ON child RENAME TO t9
CREATE RULE r2 AS ON INSERT TO child DO ALSO NOTIFY child
DROP RULE parent_rule ON parent
REFRESH MATERIALIZED VIEW parent_mv
REFRESH MATERIALIZED VIEW CONCURRENTLY parent_mv
ANALYZE child
COMMENT ON TABLE child IS 'x'
COMMENT ON COLUMN child.v IS 'x'
COMMENT ON INDEX child_v_idx IS 'x'
COMMENT ON CONSTRAINT child_v_check ON child IS 'x'
COMMENT ON TRIGGER child_trg ON child IS 'x'
COMMENT ON RULE parent_rule ON parent IS 'x'
COMMENT ON FUNCTION trg() IS 'x'
LOCK TABLE child
LOCK TABLE child IN SHARE MODE
LOCK child IN ROW EXCLUSIVE MODE
INSERT INTO child (id) VALUES (1)
UPDATE child SET v = 1
DELETE FROM child
MERGE INTO child c USING parent p ON c.id = p.id WHEN MATCHED THEN DELETE
SELECT * FROM child
SELECT * FROM child FOR UPDATE
WITH d AS (DELETE FROM child RETURNING id) SELECT count(*) FROM d
WITH d AS (UPDATE child SET v = 2 RETURNING id) SELECT count(*) FROM d
WITH s AS (SELECT id FROM parent) DELETE FROM child WHERE id IN (SELECT id FROM s)
ALTER TYPE mood ADD VALUE 'c'
CREATE FUNCTION f2() RETURNS int LANGUAGE sql AS 'SELECT 1'
CREATE VIEW v2 AS SELECT * FROM child
CREATE OR REPLACE VIEW parent_view AS SELECT id FROM parent
CREATE MATERIALIZED VIEW mv2 AS SELECT * FROM child
CREATE TYPE e2 AS ENUM ('x')
CREATE DOMAIN d2 AS int
CREATE SCHEMA s2
CREATE SEQUENCE seq3
GRANT SELECT ON child TO PUBLIC
SET lock_timeout = '1s'
DROP FUNCTION trg() CASCADE
DROP VIEW parent_view
DROP MATERIALIZED VIEW parent_mv
DROP SEQUENCE seq1
DROP SCHEMA other CASCADE
DROP FUNCTION lonely()
DROP TYPE unused
DROP TYPE mood CASCADE
CREATE POLICY pol ON child USING (true)
CREATE STATISTICS st1 ON v, parent_id FROM child
CLUSTER child USING child_v_idx
""".strip().splitlines()


@pytest.fixture(scope="module")
def probe(cluster: Cluster) -> Iterator[psycopg.Connection]:
    with cluster.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS lock_probe")
        admin.execute("CREATE DATABASE lock_probe")
    with psycopg.connect(cluster.url("lock_probe"), autocommit=True) as conn:
        conn.execute(SETUP)
        yield conn


def _strongest_taken(conn: psycopg.Connection, sql: str) -> int:
    """The strongest lock (an index in STRENGTH, -1: none) ``sql`` took on a relation that existed before."""
    existing = {row[0] for row in conn.execute("SELECT oid FROM pg_class WHERE relnamespace NOT IN "
                                               "('pg_catalog'::regnamespace, 'pg_toast'::regnamespace)")}
    modes = {"AccessShareLock": 0, "RowShareLock": 1, "RowExclusiveLock": 2, "ShareUpdateExclusiveLock": 3,
             "ShareLock": 4, "ShareRowExclusiveLock": 5, "ExclusiveLock": 6, "AccessExclusiveLock": 7}
    conn.execute("BEGIN")
    try:
        conn.execute(sql.encode(), prepare=False)
        held = conn.execute("SELECT mode, relation FROM pg_locks WHERE pid = pg_backend_pid() "
                            "AND locktype = 'relation' AND granted").fetchall()
    finally:
        conn.execute("ROLLBACK")
    return max((modes[str(mode)] for mode, oid in held if oid in existing), default=-1)


@pytest.mark.parametrize("sql", STATEMENTS)
def test_the_lock_table_says_what_the_server_takes(probe: psycopg.Connection, sql: str) -> None:
    static = lock_for(sql).lock
    taken = _strongest_taken(probe, sql)
    if static in STRENGTH:
        assert (STRENGTH[taken] if taken >= 0 else "nothing") == static, sql
    else:
        assert static.startswith("none") and taken <= 0, (sql, static, STRENGTH[taken])


@pytest.mark.parametrize(("sql", "lock"), [
    ("CREATE INDEX CONCURRENTLY i ON t (a)", "SHARE UPDATE EXCLUSIVE"),
    ("DROP INDEX CONCURRENTLY IF EXISTS s.i", "SHARE UPDATE EXCLUSIVE"),
    ("REINDEX INDEX CONCURRENTLY i", "SHARE UPDATE EXCLUSIVE"),
    ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "SHARE UPDATE EXCLUSIVE"),
    ("VACUUM t", "SHARE UPDATE EXCLUSIVE"),
    ("VACUUM (FULL) t", "ACCESS EXCLUSIVE"),
    ("VACUUM FULL t", "ACCESS EXCLUSIVE"),
])
def test_statements_outside_a_transaction_follow_the_documentation(sql: str, lock: str) -> None:
    assert lock_for(sql).lock == lock


def test_a_statement_the_parser_refuses_is_not_analysed() -> None:
    assert lock_for("ALTER TABEL t ADD COLUMN x int").lock == "not analysed"
    assert lock_for("DO $$ BEGIN LOCK TABLE t; END $$").lock == "not analysed"
