"""``drift`` by replay: the migration files run on an empty dev database, and what they built
compared, object by object, with the target's catalog.

The server interprets every statement, so a file's meaning is never guessed: a default stored as
``false`` or ``'1970-01-01'::date``, a name a drop freed, an index dropped with its column, a
``DROP INDEX IF EXISTS tbl.idx`` that does nothing, a sequence or enum value renamed, a table made
by ``CREATE TABLE ... AS``: both sides are what PostgreSQL made of them. The comparison is the one
check-reversible uses (``catalog.inventory``), with role names folded where one side's owner is
the other side's (the replay runs as a scratch login).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ..catalog.inventory import Inventory, inventory
from ..config import Settings
from ..errors import MigrationError
from ..findings import Check, Finding
from ..migration_files.model import Migration
from .execute import apply_group, next_group, on_connection, run_migration
from .reversible import beyond, powerless, prepare_scratch

RULE_HELP = {
    "drift": "the database and what its migration files build (replayed on a dev database) disagree about an object",
    "replay-fails": "a migration file fails on an empty dev database: the files do not build the database",
    "not-replayed": "a migration acts beyond its database: not run on a dev database",
}
HINT = "make a migration that brings the database in line with the files, or change the files to say what it holds"
SHORT = 160

OWNERS_SQL = r"""
SELECT DISTINCT pg_catalog.pg_get_userbyid(owner) FROM (
    SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    UNION SELECT p.proowner FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    UNION SELECT nspowner FROM pg_catalog.pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
    UNION SELECT oid FROM pg_catalog.pg_roles WHERE rolname IN (current_user, 'pg_database_owner')
) owners(owner) WHERE owner IS NOT NULL
"""


@dataclass(frozen=True)
class Replayed:
    """What replaying the files gave: the dev database's objects (None: the replay stopped, and
    ``problem`` says where)."""

    objects: Inventory | None
    problem: Finding | None = None


def owners(conn: psycopg.Connection) -> set[str]:
    """The roles that own the database's schemas, relations and routines (and the connected one):
    their names in grants are "the owner", on a dev database as on the target."""
    return {str(name) for (name,) in conn.execute(OWNERS_SQL).fetchall()}


def replay(conn: psycopg.Connection, settings: Settings, migrations: Sequence[Migration]) -> Replayed:
    """Apply ``migrations`` in order on ``conn`` (an empty dev database) and read what they built.
    A migration that acts beyond its database is not run (on a powerless login, dynamic SQL is);
    one that fails stops the replay. Both are said in ``problem``."""
    dynamic = powerless(conn)
    for m in migrations:
        refused = beyond(m, dynamic=dynamic, extensions=True)
        if refused is not None:
            return Replayed(None, Finding("not-replayed", refused.message.replace("a scratch copy", "a dev database"),
                                          object=m.id, file=refused.file, line=refused.line,
                                          hint="drift --offline compares with the files' declared model instead"))
    prepare_scratch(conn)
    work = on_connection(conn)
    index = 0
    while index < len(migrations):
        group = next_group(migrations, index)
        done = len(apply_group(work, group, settings)) if len(group) > 1 else 0
        if done < len(group):
            m = group[done]
            try:
                run_migration(work, m, settings)
            except MigrationError as exc:
                return Replayed(None, Finding(
                    "replay-fails", f"{m.id} fails on an empty dev database after the migrations before it: "
                    f"{exc.message}", object=m.id, file=str(m.path), line=exc.line,
                    hint="the files must build the database from nothing; with a dev server that lacks its roles "
                    "or extensions, give one that has them (--dev-url)"))
            done += 1
        index += done
    conn.execute("ANALYZE pg_catalog.pg_class; ANALYZE pg_catalog.pg_attribute; ANALYZE pg_catalog.pg_depend")
    return Replayed(inventory(conn))


def _owned_parts(keys: list[str], objects: Inventory) -> dict[str, str]:
    """Each key that is part of a relation also among ``keys`` -> that relation's key."""
    relations = {k[len("relation "):] for k in keys if k.startswith("relation ")}
    owner = {k: f"schema {k[len('grants on schema '):]}" for k in keys
             if k.startswith("grants on schema ") and f"schema {k[len('grants on schema '):]}" in keys}
    if not relations:
        return owner
    for key in keys:
        kind, _, rest = key.partition(" ")
        name = rest.split(" ")[0] if kind == "constraint" else rest
        candidates = [name.rsplit(".", 1)[0]] if kind in ("column", "trigger", "rule") else [name]
        if key.startswith("comment on "):
            target = key[len("comment on "):]
            candidates = [target, target.rsplit(".", 1)[0]]
        if kind == "relation":
            candidates = [name for name in (_table_of(objects[key]), _owned_by(objects[key])) if name]
        found = next((c for c in candidates if c in relations and f"relation {c}" != key), None)
        if found is not None:
            owner[key] = f"relation {found}"
    return owner


KINDS = {"r": "table", "p": "partitioned table", "i": "index", "I": "partitioned index", "S": "sequence", "v": "view",
         "m": "materialized view", "f": "foreign table", "c": "composite type"}


def label(key: str, definition: str) -> str:
    """How a finding names an object: a relation by its kind (``index public.x on public.t``)."""
    if not key.startswith("relation "):
        return key
    kind = KINDS.get(definition[len("kind="):len("kind=") + 1], "relation") if definition.startswith("kind=") else "relation"
    on = _table_of(definition)
    return f"{kind} {key[len('relation '):]}" + (f" on {on}" if on else "")


def _table_of(definition: str) -> str:
    """The table an index is on, from its inventory definition (`` table="schema.name"``)."""
    start = definition.find(' table="')
    if start < 0:
        return ""
    name, _ = json.JSONDecoder().raw_decode(definition, start + len(" table="))
    return str(name)


def _owned_by(definition: str) -> str:
    """The table a sequence follows, from its inventory definition (`` owned-by=schema.name;``)."""
    start = definition.find(" owned-by=")
    return definition[start + len(" owned-by="):].partition(";")[0] if start >= 0 else ""


def _said(definition: str) -> str:
    one = " ".join(definition.split())
    return one if len(one) <= SHORT else one[:SHORT - 3] + "..."


def compare(files: Inventory, database: Inventory) -> list[Check]:
    """One check per object of either side (a relation with its columns, constraints, indexes...
    when it is on one side only): passed when both sides agree."""
    only_db = sorted(database.keys() - files.keys())
    only_files = sorted(files.keys() - database.keys())
    changed = sorted(k for k in files.keys() & database.keys() if files[k] != database[k])
    checks: list[Check] = []
    for keys, objects, where in ((only_db, database, "db"), (only_files, files, "files")):
        parts = _owned_parts(keys, objects)
        for key in keys:
            if key in parts:
                continue
            n = sum(1 for o in parts.values() if o == key)
            with_parts = "" if not n or key.startswith("schema ") else f" (with {n} of its columns, constraints, indexes...)"
            name = label(key, objects[key])
            message = (f"{name} exists in the database{with_parts} but no migration makes it" if where == "db" else
                       f"{name} is made by the migration files{with_parts} but missing in the database")
            detail = tuple(sorted(k for k, o in parts.items() if o == key))[:8]
            checks.append(Check(key, "files vs database", (Finding("drift", message, object=key, hint=HINT,
                                                                   detail=detail),)))
    for key in changed:
        a, b = files[key], database[key]
        if len(a) <= SHORT and len(b) <= SHORT and "\n" not in a + b:
            message, detail = f"{label(key, b)}: {_said(a)} in the files, {_said(b)} in the database", ()
        else:
            import difflib

            message = f"{label(key, b)} differs between the files and the database"
            diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "files", "database", n=0, lineterm="")
            detail = tuple(f"  {line[:SHORT]}" for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))[:8]
        checks.append(Check(key, "files vs database", (Finding("drift", message, object=key, hint=HINT, detail=detail),)))
    return checks
