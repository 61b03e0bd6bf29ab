"""What a story's migrations may do: an allow-list, decided from the statements' acts (their
parse trees, DO blocks and function bodies included, quoted names resolved) before any of them
runs, in the shadow or on the target. Whatever is not allowed here is refused:

- create the tables (and views) the story names; alter them (columns, constraints, indexes,
  identity, defaults, comments, triggers); create sequences, types, schemas of its tables,
  trusted extensions and functions (never SECURITY DEFINER, only SQL or plpgsql);
- alter or drop only what the story names or its migrations create (an index: when the server
  says it belongs to a story table); drop a table only when the story names it or may drop it;
- write rows only in tables its migrations create, or in those it declares (``writes``); grant
  or revoke only on tables it declares (``grants``);
- call only the story's own functions, the built-ins the server says are IMMUTABLE or STABLE
  (``pg_proc.provolatile`` in ``pg_catalog``, and no function of the same name elsewhere), and a
  few harmless volatile ones (a sequence's next value, a random uuid); never one that takes SQL
  or a table by name as text;
- set a few planner and message settings; lock_timeout and statement_timeout only below the
  harness's caps.
Function bodies (run later, when called) may only read and write rows, under the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from schema_tools import Migration, Settings

from .stories import Story

if TYPE_CHECKING:
    import psycopg

ALTER_TABLE = frozenset({
    "index", "comment", "rename", "analyze", "AT_AddColumn", "AT_ColumnDefault", "AT_CookedColumnDefault",
    "AT_DropNotNull", "AT_SetNotNull", "AT_DropColumn", "AT_AlterColumnType", "AT_AddConstraint",
    "AT_ValidateConstraint", "AT_DropConstraint", "AT_AlterConstraint", "AT_AddIdentity", "AT_SetIdentity",
    "AT_DropIdentity", "AT_AddIndex", "AT_AddIndexConstraint", "AT_SetStatistics", "AT_SetStorage",
    "AT_SetCompression", "AT_AttachPartition", "AT_DetachPartition", "AT_DetachPartitionFinalize",
    "AT_SetExpression", "AT_DropExpression", "AT_AddInherit", "AT_DropInherit"})
"""ALTER TABLE subcommands a story may run on its own tables (no RLS, rules, trigger switches,
owners, storage options or replica identity)."""
SETTINGS = frozenset({"client_min_messages", "maintenance_work_mem", "work_mem", "check_function_bodies",
                      "max_parallel_maintenance_workers", "lock_timeout", "statement_timeout"})
FUNCTION_SETTINGS = SETTINGS | {"search_path"}
CAPPED = ("lock_timeout", "statement_timeout")
HARMLESS_VOLATILE = frozenset({"nextval", "currval", "gen_random_uuid", "uuid_generate_v4", "random",
                               "clock_timestamp", "timeofday"})
READS_BY_NAME = ("query_to_xml", "table_to_xml", "cursor_to_xml", "schema_to_xml", "database_to_xml")
"""STABLE built-ins that run SQL, or read a table or a whole schema, named in a string."""


class Server(Protocol):
    def volatility(self, names: Iterable[str]) -> dict[str, tuple[set[str], bool]]: ...

    def index_table(self, name: str) -> str | None: ...


@dataclass
class CatalogServer:
    """Asks the target's catalog (read only): a function's volatility, an index's table."""

    conn: psycopg.Connection[Any]

    def volatility(self, names: Iterable[str]) -> dict[str, tuple[set[str], bool]]:
        """name -> (provolatile of each pg_catalog function so named, whether one exists elsewhere)."""
        found: dict[str, tuple[set[str], bool]] = {}
        rows = self.conn.execute(
            "SELECT p.proname, p.provolatile, n.nspname = 'pg_catalog' FROM pg_catalog.pg_proc p "
            "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ANY(%s)",
            (sorted(set(names)),)).fetchall()
        for name, volatile, builtin in rows:
            kinds, elsewhere = found.setdefault(str(name), (set(), False))
            if builtin:
                kinds.add(str(volatile))
            else:
                found[str(name)] = (kinds, True)
        return found

    def index_table(self, name: str) -> str | None:
        """``schema.table`` of an index (None: no such index)."""
        schema, _, index = name.rpartition(".")
        row = self.conn.execute(
            "SELECT tn.nspname || '.' || t.relname FROM pg_catalog.pg_index x "
            "JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace "
            "JOIN pg_catalog.pg_class t ON t.oid = x.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
            "WHERE i.relname = %s AND n.nspname = %s", (index, schema or "public")).fetchone()
        return str(row[0]) if row else None


def _q(name: str) -> str:
    return name if "." in name else f"public.{name}"


@dataclass
class _Story:
    """What the story names and what its pending migrations create."""

    story: Story
    settings: Settings
    tables: set[str] = field(default_factory=set)
    created: dict[str, set[str]] = field(default_factory=dict)

    def made(self, kind: str, name: str) -> bool:
        return _q(name) in self.created.get(kind, set())

    def own_function(self, name: str) -> bool:
        short = name.rsplit(".", 1)[-1]
        return any(f == _q(name) or f.rsplit(".", 1)[-1] == short and "." not in name
                   for f in self.created.get("function", ()))


def _why(act: Any, s: _Story, server: Server, volatility: dict[str, tuple[set[str], bool]]) -> str:
    """Why the act is not allowed ("": it is)."""
    verb, kind, name, detail, stored = act.verb, act.kind, act.name, act.detail, act.stored
    story = s.story
    names_it = _q(name) in s.tables
    if verb == "call":
        short, schema = name.rsplit(".", 1)[-1], name.rsplit(".", 1)[0] if "." in name else ""
        if s.own_function(name):
            return ""
        if short.startswith(READS_BY_NAME):
            return f"calls {short}, which runs SQL or reads a table named in a string"
        kinds, elsewhere = volatility.get(short, (set(), False))
        if schema not in ("", "pg_catalog") or not kinds:
            return f"calls {name}, which is neither a built-in nor a function {story.id}'s migrations create"
        if elsewhere and not schema:
            return f"calls {name}, which a function outside pg_catalog may stand in for (write pg_catalog.{short})"
        if kinds <= {"i", "s"} or short in HARMLESS_VOLATILE:
            return ""
        return f"calls {short}, a VOLATILE built-in (only IMMUTABLE or STABLE ones and the story's own functions)"
    if verb == "other":
        where = " (in a function body)" if stored else ""
        return f"{name}{where}, which is not on the list of what a story's migrations may do" \
            if kind in ("dynamic SQL", "unread body", "unreadable") else \
            f"runs {name} ({kind}){where}, which is not on the list of what a story's migrations may do"
    if stored and verb not in ("write",):
        return f"{verb}s {kind} {name} in a function body: a body may only read and write rows"
    if verb == "write":
        if s.made("table", name) or _q(name) in {_q(t) for t in story.writes}:
            return ""
        return (f"writes rows ({detail}) in {name}, which existed before: declare the data step "
                f"(writes = [\"{name}\"] in {story.id})")
    if verb == "grant":
        if kind == "table" and _q(name) in {_q(t) for t in story.grants}:
            return ""
        return f"{detail}s privileges on {kind} {name}, which {story.id} does not declare (grants = [...])"
    if verb == "set":
        allowed = FUNCTION_SETTINGS if kind == "function setting" else SETTINGS
        if name not in allowed:
            return f"sets {name}, which agent-written migrations may not"
        if name in CAPPED and kind == "setting" and not s.settings.timeout_within_cap(name, detail):
            return f"sets {name} to {detail or 'a value known at run time'}, above the harness's cap (a header may lower it)"
        return ""
    if verb == "create":
        if kind in ("table", "view"):
            return "" if names_it else f"creates {kind} {name}, which {story.id} does not name"
        if kind == "trigger":
            return "" if names_it else f"creates a trigger on {name}, which {story.id} does not name"
        if kind == "function":
            return f"creates function {name} as SECURITY DEFINER (it would run with its owner's rights)" \
                if detail == "security definer" else ""
        if kind in ("sequence", "type"):
            return ""
        if kind == "schema":
            return "" if any(t.split(".")[0] == name for t in s.tables) else \
                f"creates schema {name}, which holds no table {story.id} names"
        if kind == "extension":
            return "" if detail == "trusted" else f"creates extension {name}, which is not a trusted extension"
        return f"creates a {kind} (on {name}), which no story may"
    if verb == "lock":
        return "" if names_it or s.made("table", name) else f"locks {name}, which {story.id} does not name"
    if verb == "alter":
        if kind in ("table", "view"):
            if not (names_it or s.made(kind, name)):
                return f"alters {name}, which {story.id} does not name"
            return "" if detail in ALTER_TABLE else f"alters {name} with {detail.removeprefix('AT_')}, which no story may"
        if kind == "index":
            table = server.index_table(_q(name))
            return "" if s.made("index", name) or (table is not None and table in s.tables) else \
                f"alters index {name}, which is not on a table {story.id} names"
        if kind in ("sequence", "type", "function"):
            if not s.made(kind, name):
                return f"alters {kind} {name}, which {story.id}'s migrations do not create"
            return f"makes function {name} SECURITY DEFINER" if detail == "security definer" else ""
        return f"alters {kind} {name}, which no story may"
    if verb == "drop":
        droppable = {_q(t.split(".")[0] if t.count(".") == 2 else t) for t in story.drops}
        if kind == "table":
            return "" if names_it or _q(name) in droppable or s.made("table", name) else \
                f"drops {name} (or something of it), which {story.id} does not name"
        if kind == "index":
            table = server.index_table(_q(name))
            return "" if s.made("index", name) or (table is not None and table in s.tables) or table is None else \
                f"drops index {name} of {table}, which {story.id} does not name"
        if kind in ("view", "sequence", "type", "function", "schema", "extension"):
            return "" if s.made(kind, name) or (kind == "view" and names_it) else \
                f"drops {kind} {name}, which {story.id}'s migrations do not create"
        return f"drops a {kind} ({name}), which no story may"
    return f"runs {name} ({kind}), which is not on the list of what a story's migrations may do"


def _created(migrations: Sequence[Migration]) -> dict[str, set[str]]:
    made: dict[str, set[str]] = {}
    for m in migrations:
        for stmt in m.statements:
            for act in stmt.acts:
                if act.verb == "create" and not act.stored:
                    made.setdefault(act.kind, set()).add(_q(act.name))
            if stmt.kind == "IndexStmt" and stmt.targets[1:]:
                made.setdefault("index", set()).add(_q(stmt.targets[1].key))
    return made


def allowlist_findings(story: Story, settings: Settings, pending: Sequence[Migration], server: Server) -> list[str]:
    """One line per act of the pending migrations (and their rollback files) the allow-list refuses."""
    s = _Story(story, settings, {_q(t) for t in story.tables}, _created(pending))
    statements = [(path, stmt) for m in pending for path, stmts in ((m.path, m.statements),
                                                                   (m.rollback_path, m.rollback_statements))
                  for stmt in stmts]
    called = {a.name.rsplit(".", 1)[-1] for _, stmt in statements for a in stmt.acts if a.verb == "call"}
    volatility = server.volatility(called) if called else {}
    found = []
    for path, stmt in statements:
        for act in stmt.acts:
            why = _why(act, s, server, volatility)
            if why:
                found.append(f"not allowed: {path.name}:{stmt.line}: {why}")
    return list(dict.fromkeys(found))
