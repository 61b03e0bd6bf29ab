"""The judge: every check of a story runs on the target, inside the promotion's transaction, on a
session pinned first (``search_path = pg_catalog, pg_temp``, no role, row security off, fixed
quoting rules), so nothing a migration defined or set in that session stands in for what the
checks read. What is compared with the target as it was before the promotion:

- the story's expectations, every story that passed, the invariants (a new violation only);
- scope: nothing outside the story's tables changes, and nowhere -- the story's own tables
  included -- a grant, row security, a policy or a rule appears that the story did not declare;
- the server around the schema: publications, replication slots, database and role settings,
  event triggers, the owner login's powers and memberships;
- the data guard: no row of a table that held rows deleted, changed, and no row added
  anywhere unless the story lists the table in ``writes``.
The shadow runs the same kinds of checks first, to fail fast; only these decide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import LiteralString

import psycopg

from schema_tools import Settings, verify_catalog
from schema_tools.harness import read_schema_on, schema_inventory_on

from .data_guard import Snapshot, data_lost, rows_added, snapshot
from .scope import out_of_scope, privilege_changes
from .stories import Story
from .target import TargetState

PIN: tuple[LiteralString, ...] = (
    "SET LOCAL search_path = pg_catalog, pg_temp",
    "SET LOCAL ROLE NONE",
    "SET LOCAL row_security = off",  # a policy that would hide rows from the checks is an error instead
    "SET LOCAL standard_conforming_strings = on",
    "SET LOCAL transform_null_equals = off",
    "SET LOCAL statement_timeout = 0",  # the checks' own: a migration's 1 ms must not make them skip
    "SET LOCAL lock_timeout = 0",
)

SERVER_SQL = r"""
SELECT 'publication ' || p.pubname, p.puballtables::text || ' ' || p.pubinsert::text || p.pubupdate::text
       || p.pubdelete::text || p.pubtruncate::text
       || coalesce(' ' || (SELECT pg_catalog.string_agg(r.prrelid::pg_catalog.regclass::text, ',' ORDER BY 1)
                           FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid), '')
FROM pg_catalog.pg_publication p
UNION ALL
SELECT 'replication slot ' || s.slot_name, s.slot_type || ' ' || coalesce(s.database::text, '')
FROM pg_catalog.pg_replication_slots s
UNION ALL
SELECT 'settings of ' || coalesce(r.rolname, 'every role') || ' in '
       || coalesce(d.datname, 'every database'), pg_catalog.array_to_string(s.setconfig, ',')
FROM pg_catalog.pg_db_role_setting s LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
UNION ALL
SELECT 'database ' || d.datname, coalesce(d.datacl::text, '') || ' limit=' || d.datconnlimit::text
       || ' connections=' || d.datallowconn::text || ' template=' || d.datistemplate::text
FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()
UNION ALL
SELECT 'role ' || r.rolname, r.rolsuper::text || r.rolcreaterole::text || r.rolcreatedb::text
       || r.rolreplication::text || r.rolbypassrls::text || r.rolcanlogin::text
       || coalesce(' member of ' || (SELECT pg_catalog.string_agg(g.rolname, ',' ORDER BY g.rolname)
                                     FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                                     WHERE m.member = r.oid), '')
FROM pg_catalog.pg_roles r
UNION ALL
SELECT 'event trigger ' || e.evtname, e.evtevent || ' ' || e.evtenabled::text FROM pg_catalog.pg_event_trigger e
UNION ALL
SELECT 'subscription ' || s.subname, s.subenabled::text FROM pg_catalog.pg_subscription s
"""


def pin(conn: psycopg.Connection) -> None:
    """Inside a transaction: whatever the session was left with, the checks read the catalog."""
    for statement in PIN:
        conn.execute(statement)


def pinned_inventory(conn: psycopg.Connection) -> dict[str, str]:
    """The schema inventory as the promotion's checks read it (names qualified the same way)."""
    with conn.transaction():
        pin(conn)
        return schema_inventory_on(conn)


def server_state(conn: psycopg.Connection) -> dict[str, str]:
    """What a migration run by the owner login must leave as it was around its schema."""
    return {str(name): str(value) for name, value in conn.execute(SERVER_SQL).fetchall()}


@dataclass(frozen=True)
class Before:
    """The target as the promotion found it (read on the harness's own connection)."""

    state: TargetState
    data: Snapshot
    inventory: dict[str, str]
    server: dict[str, str]
    invariants: frozenset[str]
    objects: frozenset[tuple[str, int, int, str, str, str]]


def invariant_messages(state: TargetState, settings: Settings) -> frozenset[str]:
    return frozenset(f.message for f in verify_catalog(state.catalog, (), disabled=settings.disabled_invariants).errors)


def before_promotion(conn: psycopg.Connection, state: TargetState, settings: Settings) -> Before:
    with conn.transaction():
        pin(conn)
        found = Before(state, snapshot(conn, state.catalog), schema_inventory_on(conn), server_state(conn),
                       invariant_messages(state, settings), frozenset())
    return replace(found, objects=objects(conn))


def judge_on_target(story: Story, settings: Settings, before: Before, applied: frozenset[str],
                    also: Callable[[TargetState], list[str]]) -> Callable[[psycopg.Connection], list[str]]:
    """The check promotion runs on its own session before it commits (``also``: the story's
    expectations and the regressions, on the state read there; ``applied``: the migrations
    applied once it commits, which the runner recorded in the same transaction)."""

    def holds(conn: psycopg.Connection) -> list[str]:
        try:
            with conn.transaction():
                pin(conn)
                return _problems(conn, story, settings, before, TargetState(read_schema_on(conn, settings), applied), also)
        except psycopg.Error as exc:
            return [f"the checks could not read the target ({' '.join(str(exc).split())[:300]}): nothing is promoted "
                    "that the harness could not check"]

    return holds


def _problems(conn: psycopg.Connection, story: Story, settings: Settings, before: Before, state: TargetState,
              also: Callable[[TargetState], list[str]]) -> list[str]:
    problems = also(state)
    problems += [f"invariant: {m}" for m in sorted(invariant_messages(state, settings) - before.invariants)]
    inventory = schema_inventory_on(conn)
    problems += out_of_scope(before.inventory, inventory, story.id, story.tables)
    problems += privilege_changes(before.inventory, inventory, story.id, story.grants)
    server = server_state(conn)
    problems += [f"server: {name} {'appeared' if name not in before.server else 'is gone' if name not in server else 'changed'}"
                 f"; a story's migrations change only the application's schema" for name in sorted(set(server) | set(before.server))
                 if server.get(name) != before.server.get(name)]
    problems += data_lost(conn, before.data, state.catalog, story.drops)
    problems += rows_added(conn, before.data, state.catalog, story.writes)
    return list(dict.fromkeys(problems))


def undo_guard(settings: Settings, before: Before, story: Story) -> Callable[[psycopg.Connection], list[str]]:
    """What a rollback file run on the target (to undo a promotion that could not run in one
    transaction) must not do before its transaction commits: change rows that were there before
    the promotion, or add rows."""

    def check(conn: psycopg.Connection) -> list[str]:
        try:
            with conn.transaction():
                pin(conn)
                catalog = read_schema_on(conn, settings)
                return data_lost(conn, before.data, catalog, story.drops) + rows_added(conn, before.data, catalog)
        except psycopg.Error as exc:
            return [f"leave rows the harness could not check ({' '.join(str(exc).split())[:200]})"]

    return check


OBJECTS_SQL = r"""
WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace
            WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%%')
SELECT 'relation', c.oid::pg_catalog.int8, 0, c.relkind::text, c.oid::pg_catalog.regclass::text, ''
FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f', 'c')
UNION ALL
SELECT 'column', a.attrelid::pg_catalog.int8, a.attnum, '', a.attrelid::pg_catalog.regclass::text, pg_catalog.quote_ident(a.attname)
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint', con.oid::pg_catalog.int8, 0, '', con.conrelid::pg_catalog.regclass::text, pg_catalog.quote_ident(con.conname)
FROM pg_catalog.pg_constraint con WHERE con.connamespace IN (SELECT oid FROM ns) AND con.conrelid <> 0
UNION ALL
SELECT 'routine', p.oid::pg_catalog.int8, 0, '', p.oid::pg_catalog.regprocedure::text, ''
FROM pg_catalog.pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT 'type', t.oid::pg_catalog.int8, 0, t.typtype::text, t.oid::pg_catalog.regtype::text, ''
FROM pg_catalog.pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns) AND t.typtype IN ('e', 'd', 'r')
"""
Object = tuple[str, int, int, str, str, str]  # kind, oid, column number, relkind or typtype, name, member's name
DROPS = {"v": "VIEW", "m": "MATERIALIZED VIEW", "r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "i": "INDEX",
         "I": "INDEX", "S": "SEQUENCE"}


def objects(conn: psycopg.Connection) -> frozenset[Object]:
    """The application's relations, columns, constraints, routines and types, by OID."""
    with conn.transaction():
        pin(conn)
        return frozenset((str(k), int(o), int(n), str(r), str(name), str(member))
                         for k, o, n, r, name, member in conn.execute(OBJECTS_SQL).fetchall())


def drop_what_is_new(conn: psycopg.Connection, before: frozenset[Object]) -> list[str]:
    """After a promotion that cannot run in one transaction failed part-way (its migration not
    recorded): drop what its committed statements made -- objects that did not exist before, so
    no row that existed goes with them -- so that the next attempt starts from the target as it
    was. Returns what was dropped."""
    from psycopg import sql

    order = ("constraint", "column", "relation", "routine", "type")
    new = sorted(objects(conn) - before, key=lambda o: (order.index(o[0]), "vmrpfiIS".find(o[3]) if o[3] else 0))
    kept = {o[1] for o in before if o[0] == "relation"}
    dropped = []
    for kind, oid, _, sub, name, member in new:
        if kind in ("constraint", "column") and oid not in kept:
            continue  # of a new table: goes with it
        if kind == "constraint":
            statement = sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(sql.SQL(name), sql.SQL(member))
        elif kind == "column":
            statement = sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS {}").format(sql.SQL(name), sql.SQL(member))
        elif kind == "relation" and sub in DROPS:
            statement = sql.SQL(f"DROP {DROPS[sub]} IF EXISTS {{}} CASCADE").format(sql.SQL(name))
        elif kind == "routine":
            statement = sql.SQL("DROP ROUTINE IF EXISTS {}").format(sql.SQL(name))
        elif kind == "type":
            statement = sql.SQL("DROP TYPE IF EXISTS {}").format(sql.SQL(name))
        else:
            continue
        try:
            with conn.transaction():
                pin(conn)
                conn.execute(statement)
        except psycopg.Error:
            continue  # what is left is named by the comparison with the target before the promotion
        dropped.append(f"{kind} {name}{'.' + member if member else ''}")
    return dropped
