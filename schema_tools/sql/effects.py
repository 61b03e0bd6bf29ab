"""What a statement does, read from its parse tree: the relations it targets, CONCURRENTLY,
row changes, dropped data, session changes and transaction control. ``Statement`` asks these;
callers ask the ``Statement``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .identifiers import quote
from .tree import Node, body, constant, nodes, strings, tag

if TYPE_CHECKING:
    from .statement import Statement


@dataclass(frozen=True)
class Target:
    """A relation a statement acts on: ``kind`` (table, index, view, sequence...), its schema as
    written (None: the search path decides) and its name, both as PostgreSQL stores them."""

    kind: str
    schema: str | None
    name: str

    @property
    def key(self) -> str:
        """``name``, or ``schema.name`` outside public (how the declared schema keys tables)."""
        return self.name if self.schema in (None, "public") else f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        """The name as SQL, quoted where needed (``"Odd".t``)."""
        return quote(self.name) if self.schema is None else f"{quote(self.schema)}.{quote(self.name)}"


@dataclass(frozen=True)
class Dropped:
    """Data a statement removes: a whole table (``column`` None) or one column's values."""

    table: Target
    column: str | None = None


OBJECT_KINDS = {"OBJECT_TABLE": "table", "OBJECT_INDEX": "index", "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "view",
                "OBJECT_SEQUENCE": "sequence", "OBJECT_FOREIGN_TABLE": "table", "OBJECT_COLUMN": "table",
                "OBJECT_TABCONSTRAINT": "table", "OBJECT_TRIGGER": "table", "OBJECT_RULE": "table",
                "OBJECT_POLICY": "table"}
"""Object types whose statements act on a relation, and the relation's kind."""
ON_TABLE = ("OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY")
"""Object types named ``[schema.]table.name``: the relation is the table."""


def range_target(range_var: Node | None, kind: str = "table") -> Target | None:
    """A RangeVar as a Target."""
    if not range_var or not range_var.get("relname"):
        return None
    return Target(kind, range_var.get("schemaname") or None, range_var["relname"])


def name_target(names: list[str], kind: str) -> Target | None:
    """A qualified name (``[schema.]name``) as a Target: ``DROP INDEX IF EXISTS t.idx`` is
    index ``idx`` of schema ``t``, as PostgreSQL reads it."""
    if not names:
        return None
    return Target(kind, names[-2] if len(names) > 1 else None, names[-1])


def _range_vars(items: Any) -> Iterator[Node]:
    for item in items or ():
        yield body(item, "RangeVar") if tag(item) == "RangeVar" else body(body(item, "VacuumRelation").get("relation"))


def targets(s: Statement) -> tuple[Target, ...]:
    """The relations the statement acts on, its own object first."""
    kind, f = s.kind, s.fields
    found: list[Target | None] = []
    if kind in ("CreateStmt", "AlterTableStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt",
                "CreateTrigStmt", "RuleStmt", "CreatePolicyStmt", "RefreshMatViewStmt", "ReindexStmt", "ClusterStmt",
                "AlterObjectSchemaStmt", "RenameStmt"):
        objtype = f.get("objtype") or f.get("objectType") or f.get("renameType") or ""
        if objtype in ON_TABLE:  # RENAME COLUMN, CONSTRAINT, TRIGGER...: of a table or a view
            objtype = f.get("relationType", "")
        relkind = "index" if kind == "ReindexStmt" and f.get("kind") == "REINDEX_OBJECT_INDEX" else \
            OBJECT_KINDS.get(objtype, "table")
        found.append(range_target(f.get("relation"), relkind))
    elif kind == "IndexStmt":
        table = range_target(f.get("relation"))
        found.append(table)
        if table is not None and f.get("idxname"):
            found.append(Target("index", table.schema, f["idxname"]))  # an index lives in its table's schema
    elif kind == "ViewStmt":
        found.append(range_target(f.get("view"), "view"))
    elif kind == "CreateTableAsStmt":
        found.append(range_target(body(f.get("into")).get("rel"), "view" if f.get("objtype") == "OBJECT_MATVIEW" else "table"))
    elif kind in ("DropStmt", "CommentStmt"):
        objtype = f.get("removeType") or f.get("objtype") or ""
        objects = f.get("objects") or ([f["object"]] if "object" in f else [])
        for item in objects if objtype in OBJECT_KINDS else ():
            names = strings(item)
            found.append(name_target(names[:-1] if objtype in ON_TABLE else names, OBJECT_KINDS[objtype]))
    elif kind in ("TruncateStmt", "LockStmt", "VacuumStmt"):
        found += [range_target(r) for r in _range_vars(f.get("relations") or f.get("rels"))]
    return tuple(t for t in found if t is not None)


def concurrently(s: Statement) -> str:
    """The CONCURRENTLY form a statement is, none of which may run inside a transaction block."""
    kind, f = s.kind, s.fields
    if kind == "IndexStmt" and f.get("concurrent"):
        return "CREATE INDEX"
    if kind == "DropStmt" and f.get("concurrent"):
        return "DROP INDEX"
    if kind == "ReindexStmt" and any(body(p).get("defname") == "concurrently" for p in f.get("params") or ()):
        return "REINDEX"
    if kind == "AlterTableStmt" and any(body(body(c).get("def"), "PartitionCmd").get("concurrent")
                                        for c in f.get("cmds") or ()):
        return "DETACH PARTITION"
    return ""


ROW_STATEMENTS = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
                  "TruncateStmt": "TRUNCATE", "CopyStmt": "COPY", "DoStmt": "a DO block", "CallStmt": "CALL",
                  "SelectStmt": "a SELECT (its functions may write)", "ExecuteStmt": "EXECUTE",
                  "CreateTableAsStmt": "CREATE TABLE ... AS (its query's functions may write)"}
WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


def changes_rows(s: Statement) -> str:
    """What a statement may do to rows, in words, or "" for schema changes and for a SELECT that
    calls nothing and writes nothing (``SELECT 1``); one the parser cannot read may change rows."""
    kind = s.kind
    if not kind:
        return "a statement PostgreSQL's parser cannot read"
    try:
        if kind == "SelectStmt" and not s.fields.get("intoClause") and not any(_called(s)) \
                and not any(s.nodes(write) for write in WRITES):
            return ""
    except RecursionError:
        return "a statement nested too deeply to read"
    return ROW_STATEMENTS.get(kind, "")


def _called(s: Statement) -> Iterator[str]:
    """The names of the functions the statement calls (the last part of each name), as ``calls``."""
    for call in s.nodes("FuncCall"):
        names = strings(call.get("funcname"))
        if names:
            yield names[-1]


def drops_data(s: Statement) -> tuple[Dropped, ...]:
    """DROP TABLE and TRUNCATE (each table), ALTER TABLE ... DROP COLUMN (each column)."""
    kind, f = s.kind, s.fields
    if kind == "DropStmt" and f.get("removeType") == "OBJECT_TABLE" or kind == "TruncateStmt":
        return tuple(Dropped(t) for t in targets(s))
    if kind == "AlterTableStmt" and f.get("objtype") == "OBJECT_TABLE":
        table = range_target(f.get("relation"))
        return tuple(Dropped(table, body(c)["name"]) for c in f.get("cmds") or ()
                     if table is not None and body(c).get("subtype") == "AT_DropColumn" and body(c).get("name"))
    return ()


SESSION_FUNCTIONS = {"pg_advisory_unlock_all": "advisory locks (pg_advisory_unlock_all)",
                     "pg_advisory_unlock": "advisory locks (pg_advisory_unlock)",
                     "pg_advisory_unlock_shared": "advisory locks (pg_advisory_unlock_shared)"}
DISCARDS = {"DISCARD_ALL": "the whole session (DISCARD ALL)", "DISCARD_PLANS": "cached plans (DISCARD PLANS)",
            "DISCARD_SEQUENCES": "sequence state (DISCARD SEQUENCES)", "DISCARD_TEMP": "temporary tables (DISCARD TEMP)"}
MULTI = {"SESSION CHARACTERISTICS": "transaction characteristics (SET SESSION CHARACTERISTICS)",
         "TRANSACTION": "transaction characteristics (SET TRANSACTION)"}


def session_changes(s: Statement) -> tuple[str, ...]:
    """Settings and session state the statement (or the DO block it runs) changes."""
    found = list(_own_session_changes(s))
    for inner in s.inner:
        found += session_changes(inner)
    return tuple(dict.fromkeys(found))


def _own_session_changes(s: Statement) -> Iterator[str]:
    kind, f = s.kind, s.fields
    if kind == "VariableSetStmt":
        if f.get("kind") == "VAR_RESET_ALL":
            yield "every setting (RESET ALL)"
        elif f.get("kind") == "VAR_SET_MULTI":
            yield MULTI.get(f.get("name", ""), f.get("name", "").lower())
        else:
            yield f.get("name", "")
    elif kind == "DiscardStmt":
        yield DISCARDS.get(f.get("target", ""), "session state (DISCARD)")
    try:
        for call in s.nodes("FuncCall"):
            name = (strings(call.get("funcname")) or [""])[-1]
            if name == "set_config":
                setting = constant((call.get("args") or [None])[0])
                yield setting.strip().lower() if isinstance(setting, str) else "a setting named at run time (set_config)"
            elif name in SESSION_FUNCTIONS:
                yield SESSION_FUNCTIONS[name]
    except RecursionError:
        yield "unknown: a statement nested too deeply to read"


def setting_values(s: Statement) -> tuple[tuple[str, str | None], ...]:
    """``(setting, value)`` for each setting the statement (or its DO block) sets: the value as
    written, "DEFAULT" for SET ... TO DEFAULT and RESET, None when only known at run time."""
    found: list[tuple[str, str | None]] = []
    try:  # SET and RESET, and the SET clauses of CREATE/ALTER FUNCTION (applied each time it is called)
        for node in s.nodes("VariableSetStmt"):
            kind, args = node.get("kind"), node.get("args") or []
            if not node.get("name"):
                continue
            if kind in ("VAR_SET_DEFAULT", "VAR_RESET"):
                found.append((node["name"], "DEFAULT"))
            elif kind == "VAR_SET_VALUE":
                values = [constant(a) for a in args]
                known = len(values) == 1 and values[0] is not None
                found.append((node["name"], str(values[0]) if known else None))
    except RecursionError:
        found.append(("standard_conforming_strings", None))
    try:
        for call in s.nodes("FuncCall"):
            if (strings(call.get("funcname")) or [""])[-1] == "set_config":
                args = call.get("args") or [None, None]
                name, value = constant(args[0]), constant(args[1]) if len(args) > 1 else None
                if isinstance(name, str):
                    found.append((name.strip().lower(), value if isinstance(value, str) else None))
    except RecursionError:
        pass
    for inner in s.inner:
        found += setting_values(inner)
    return tuple(found)


BEYOND_KINDS = {
    "CreatedbStmt": "creates a database", "DropdbStmt": "drops a database", "AlterDatabaseStmt": "alters a database",
    "AlterDatabaseSetStmt": "changes a database's settings", "AlterDatabaseRefreshCollStmt": "alters a database",
    "CreateRoleStmt": "creates a role", "AlterRoleStmt": "alters a role", "AlterRoleSetStmt": "changes a role's settings",
    "DropRoleStmt": "drops a role", "GrantRoleStmt": "grants or revokes role membership",
    "AlterSystemStmt": "changes the server's configuration", "CreateTableSpaceStmt": "creates a tablespace",
    "DropTableSpaceStmt": "drops a tablespace", "AlterTableSpaceOptionsStmt": "alters a tablespace",
    "CreateSubscriptionStmt": "subscribes to another server", "AlterSubscriptionStmt": "alters a subscription",
    "DropSubscriptionStmt": "drops a subscription", "LoadStmt": "loads a shared library into the server",
    "CreateForeignServerStmt": "defines a connection to another server", "CreateUserMappingStmt": "stores credentials "
    "for another server", "AlterUserMappingStmt": "stores credentials for another server",
    "ImportForeignSchemaStmt": "imports tables from another server", "CreateEventTrigStmt": "creates an event trigger",
    "AlterEventTrigStmt": "alters an event trigger", "ReassignOwnedStmt": "reassigns objects between roles",
}
"""Statement kinds whose effect is outside the database they run in (or needs a superuser for it)."""

BEYOND_FUNCTION_PREFIXES = ("pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
                            "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
                            "pg_copy_logical_replication_slot", "pg_replication_origin", "pg_replication_slot_advance",
                            "pg_logical_", "pg_stat_reset", "pg_backup_", "pg_start_backup", "pg_stop_backup",
                            "pg_wal_replay", "pg_log_backend_memory_contexts", "pg_signal_backend")
"""Functions that act on the server (replication slots keep WAL forever; statistics reset for everyone)."""


def beyond_database(s: Statement) -> list[str]:
    """What the statement (or the DO block it runs) does outside its database, read from its tree:
    databases, roles, tablespaces, subscriptions, the server's configuration, replication slots,
    files and programs (COPY); one phrase each."""
    found = []
    kind, f = s.kind, s.fields
    if kind in BEYOND_KINDS:
        found.append(f"{BEYOND_KINDS[kind]} ({kind.removesuffix('Stmt')})")
    if kind == "CopyStmt" and f.get("filename"):
        found.append("runs a program on the database server (COPY ... PROGRAM)" if f.get("is_program")
                     else "reads or writes a file on the database server (COPY ... 'file')")
    try:
        for name in _called(s):
            short = name.rsplit(".", 1)[-1]
            if short.startswith(BEYOND_FUNCTION_PREFIXES):
                found.append(f"calls {short}, which acts on the whole server")
    except RecursionError:
        found.append("unknown: a statement nested too deeply to read")
    for inner in s.inner:
        found += beyond_database(inner)
    return list(dict.fromkeys(found))


def moves_sequence(s: Statement) -> str:
    """How the statement (or its DO block) moves a sequence, which no rollback of a transaction
    undoes (setval, nextval, ALTER SEQUENCE / identity RESTART, TRUNCATE ... RESTART IDENTITY); ""."""
    kind, f = s.kind, s.fields
    if kind == "AlterSeqStmt" and any(body(o).get("defname") == "restart" for o in f.get("options") or ()):
        return "ALTER SEQUENCE ... RESTART"
    if kind == "TruncateStmt" and f.get("restart_seqs"):
        return "TRUNCATE ... RESTART IDENTITY"
    if kind == "AlterTableStmt":
        for command in nodes(f.get("cmds"), "AlterTableCmd"):
            if command.get("subtype") == "AT_SetIdentity" and any(
                    o.get("defname") == "restart" for o in nodes(command, "DefElem")):
                return "ALTER ... RESTART (an identity column)"
    try:
        called = next((n for n in _called(s) if n in ("setval", "nextval")), "")
    except RecursionError:
        called = "setval"
    if called:
        return f"{called}()"
    return next((m for inner in s.inner if (m := moves_sequence(inner))), "")


def client_copy(s: Statement) -> str:
    """``COPY ... FROM STDIN`` or ``COPY ... TO STDOUT`` (data to or from the client), or ""."""
    if s.kind != "CopyStmt" or s.fields.get("filename"):
        return ""
    return "COPY ... FROM STDIN" if s.fields.get("is_from") else "COPY ... TO STDOUT"


TRANSACTIONS = {"TRANS_STMT_BEGIN": "BEGIN", "TRANS_STMT_START": "START TRANSACTION", "TRANS_STMT_COMMIT": "COMMIT",
                "TRANS_STMT_ROLLBACK": "ROLLBACK", "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
                "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED", "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED"}
"""TransactionStmt kinds that begin, end or prepare a transaction (SAVEPOINT, RELEASE and
ROLLBACK TO stay inside one)."""


def transaction_control(s: Statement) -> str:
    """The command when the statement (or the DO block it runs) begins, ends or prepares a transaction."""
    if s.kind == "TransactionStmt":
        return TRANSACTIONS.get(s.fields.get("kind", ""), "")
    if s.kind == "DoStmt":
        from .bodies import do_transaction_control

        return do_transaction_control(s) or next((c for i in s.inner if (c := transaction_control(i))), "")
    return ""
