"""Which lock a statement takes: the strongest lock it takes on a relation (table, index, view,
sequence) that exists before it runs, read from its parse tree.

From PostgreSQL's documentation ("Explicit Locking" and each command's page), checked against
the server's pg_locks statement by statement (``tests/test_locks.py``). An ALTER TABLE with
several subcommands takes the strongest lock any of them needs. ``plan --trace`` shows what a
statement really took, where the table cannot know (a trigger that locks another table...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .tree import Node, body, nodes

if TYPE_CHECKING:
    from .effects import Target
    from .statement import Statement

STRENGTH = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
            "EXCLUSIVE", "ACCESS EXCLUSIVE")
"""PostgreSQL's table lock modes, weakest first (LockStmt's mode is the 1-based index)."""
TABLE_LEVEL = "ACCESS EXCLUSIVE"


@dataclass(frozen=True)
class LockInfo:
    """What a statement is (``kind``), the lock it takes, and what that means for traffic."""

    kind: str
    lock: str
    note: str


def _info(kind: str, lock: str, note: str) -> LockInfo:
    return LockInfo(kind, lock, note)


BLOCKS_ALL = "blocks reads and writes of the table"
CONTINUE = "reads and writes continue"
OTHER = _info("other", "not analysed", "DO blocks and unusual statements are not analysed")
CREATE_INDEX = _info("CREATE INDEX", "SHARE", "blocks writes while the index builds")
CREATE_INDEX_CONCURRENTLY = _info("CREATE INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", CONTINUE)
DROP_INDEX = _info("DROP INDEX", TABLE_LEVEL, BLOCKS_ALL)
DROP_INDEX_CONCURRENTLY = _info("DROP INDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", CONTINUE)
REINDEX = _info("REINDEX", TABLE_LEVEL, "SHARE on the table (writes wait) and ACCESS EXCLUSIVE on each index it "
                "rebuilds: queries that would plan with the table wait too")
REINDEX_CONCURRENTLY = _info("REINDEX CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", CONTINUE)
DROP_TABLE = _info("DROP TABLE / TRUNCATE", TABLE_LEVEL, BLOCKS_ALL)
DROP_RELATION = _info("DROP (non-table object)", TABLE_LEVEL, "on the view or sequence itself")
DROP_CASCADE = _info("DROP (non-table object)", TABLE_LEVEL, "CASCADE: on every table, view or sequence that goes with it")
DROP_OBJECT = _info("DROP (non-table object)", "none on tables", "it is refused while a table depends on it")
CREATE_OBJECT = _info("CREATE (non-table object)", "none on tables", "ACCESS SHARE on tables it reads")
SETTINGS = _info("privileges / settings", "none on tables", "")
DML = _info("DML", "ROW EXCLUSIVE", "row locks on the rows changed")
QUERY = _info("query / COPY", "ACCESS SHARE", "reads only")
ALTER_TABLE = _info("ALTER TABLE", TABLE_LEVEL, BLOCKS_ALL)
ALTER_INDEX = _info("ALTER INDEX", TABLE_LEVEL, "on the index: queries that would plan with its table wait")
ALTER_VIEW = _info("ALTER VIEW", TABLE_LEVEL, "blocks reads of the view")
STORAGE = _info("ALTER TABLE SET (storage)", "SHARE UPDATE EXCLUSIVE", CONTINUE)
TRIGGER_SWITCH = _info("ALTER TABLE ENABLE/DISABLE TRIGGER", "SHARE ROW EXCLUSIVE", "blocks writes to the table")

STORAGE_SUBCOMMANDS = {"AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions", "AT_SetRelOptions", "AT_ResetRelOptions",
                       "AT_ClusterOn", "AT_DropCluster"}
TRIGGER_SUBCOMMANDS = {"AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_DisableTrig",
                       "AT_EnableTrigAll", "AT_DisableTrigAll", "AT_EnableTrigUser", "AT_DisableTrigUser"}
EXCLUSIVE_OPTIONS = {"user_catalog_table"}
"""Table options whose change takes ACCESS EXCLUSIVE (the rest take SHARE UPDATE EXCLUSIVE)."""
DROPPED_RELATIONS = {"OBJECT_VIEW", "OBJECT_SEQUENCE", "OBJECT_MATVIEW"}
DROPPED_OBJECTS = {"OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_SCHEMA",
                   "OBJECT_EXTENSION"}
DEFINED_OBJECTS = {"OBJECT_TYPE", "OBJECT_AGGREGATE", "OBJECT_COLLATION"}
COMMENTED_RELATIONS = {"OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_INDEX", "OBJECT_VIEW", "OBJECT_MATVIEW",
                       "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"}
WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


def lock_for(sql: str) -> LockInfo:
    """The lock one statement's text takes (see ``lock_of``)."""
    from .statement import Statement

    return Statement(sql).lock


def lock_of(s: Statement) -> LockInfo:
    """The lock a statement takes, by its kind (an ALTER TABLE: the strongest of its subcommands)."""
    rule = _RULES.get(s.kind)
    return rule(s.fields) if rule is not None else OTHER


def lock_where(s: Statement, exists: Callable[[Target], bool]) -> LockInfo:
    """The lock a statement takes, ``exists`` saying whether a relation exists before it runs:
    CREATE OR REPLACE VIEW locks a view it replaces, and nothing when the view is new."""
    if s.kind == "ViewStmt" and s.fields.get("replace") and s.targets and not exists(s.targets[0]):
        return CREATE_OBJECT
    return s.lock


def strongest(infos: list[LockInfo]) -> LockInfo:
    """The info with the strongest lock (an unknown lock counts as stronger than any)."""
    return max(infos, key=lambda i: STRENGTH.index(i.lock) if i.lock in STRENGTH else len(STRENGTH))


def _index(f: Node) -> LockInfo:
    return CREATE_INDEX_CONCURRENTLY if f.get("concurrent") else CREATE_INDEX


def _drop(f: Node) -> LockInfo:
    kind = f.get("removeType")
    if kind == "OBJECT_INDEX":
        return DROP_INDEX_CONCURRENTLY if f.get("concurrent") else DROP_INDEX
    if kind == "OBJECT_TABLE":
        return DROP_TABLE
    if kind == "OBJECT_TRIGGER":
        return _info("DROP TRIGGER", TABLE_LEVEL, BLOCKS_ALL)
    if kind == "OBJECT_RULE":
        return _info("DROP RULE", TABLE_LEVEL, BLOCKS_ALL)
    if kind in DROPPED_RELATIONS:
        return DROP_RELATION
    if kind in DROPPED_OBJECTS:
        return DROP_CASCADE if f.get("behavior") == "DROP_CASCADE" else DROP_OBJECT
    return OTHER


def _reindex(f: Node) -> LockInfo:
    return REINDEX_CONCURRENTLY if any(body(p).get("defname") == "concurrently" for p in f.get("params") or ()) \
        else REINDEX


def _create_table(f: Node) -> LockInfo:
    if f.get("partbound"):
        return _info("CREATE TABLE PARTITION OF", TABLE_LEVEL, "on the parent table")
    if f.get("inhRelations"):
        return _info("CREATE TABLE INHERITS", "SHARE UPDATE EXCLUSIVE", "on the parent tables")
    if any(c.get("contype") == "CONSTR_FOREIGN" for c in nodes(f.get("tableElts"), "Constraint")):
        return _info("CREATE TABLE", "SHARE ROW EXCLUSIVE", "on the referenced tables; the new table is private")
    return _info("CREATE TABLE", "none", "a new table: nothing else waits")


def _create_table_as(f: Node) -> LockInfo:
    return CREATE_OBJECT if f.get("objtype") == "OBJECT_MATVIEW" else \
        _info("CREATE TABLE", "none", "a new table: nothing else waits")


def _table_subcommand(cmd: Node) -> LockInfo:
    subtype = cmd.get("subtype")
    partition = body(cmd.get("def"), "PartitionCmd")
    constraint = body(cmd.get("def"), "Constraint")
    if subtype == "AT_ValidateConstraint":
        return _info("VALIDATE CONSTRAINT", "SHARE UPDATE EXCLUSIVE", CONTINUE)
    if subtype == "AT_DetachPartition" and partition.get("concurrent"):
        return _info("DETACH PARTITION CONCURRENTLY", "SHARE UPDATE EXCLUSIVE", CONTINUE)
    if subtype == "AT_AttachPartition":
        return _info("ATTACH PARTITION", TABLE_LEVEL, "on the partition attached (and a default partition); SHARE "
                     "UPDATE EXCLUSIVE on the parent, whose reads and writes continue")
    if subtype == "AT_AddConstraint" and constraint.get("contype") == "CONSTR_FOREIGN":
        if constraint.get("skip_validation"):
            return _info("ADD FOREIGN KEY NOT VALID", "SHARE ROW EXCLUSIVE", "brief: no scan; on both tables")
        return _info("ADD FOREIGN KEY", "SHARE ROW EXCLUSIVE", "blocks writes to both tables while existing rows are checked")
    if subtype in STORAGE_SUBCOMMANDS:
        options = {body(o).get("defname") for o in body(cmd.get("def"), "List").get("items") or ()}
        return ALTER_TABLE if options & EXCLUSIVE_OPTIONS else STORAGE
    if subtype in TRIGGER_SUBCOMMANDS:
        return TRIGGER_SWITCH
    return ALTER_TABLE


def _index_subcommand(cmd: Node) -> LockInfo:
    if cmd.get("subtype") == "AT_AttachPartition":
        return _info("ALTER INDEX ATTACH PARTITION", TABLE_LEVEL, "on the partition's index: queries that would plan "
                     "with the partition wait; SHARE UPDATE EXCLUSIVE on the parent index")
    if cmd.get("subtype") in ("AT_SetRelOptions", "AT_ResetRelOptions"):
        return _info("ALTER INDEX SET (storage)", "SHARE UPDATE EXCLUSIVE", CONTINUE)
    return ALTER_INDEX


def _alter_table(f: Node) -> LockInfo:
    objtype = f.get("objtype")
    subcommand: Callable[[Node], LockInfo]
    if objtype == "OBJECT_TABLE":
        subcommand = _table_subcommand
    elif objtype == "OBJECT_INDEX":
        subcommand = _index_subcommand
    elif objtype == "OBJECT_MATVIEW":  # its storage options as a table's
        subcommand = _table_subcommand
    elif objtype == "OBJECT_VIEW":
        return ALTER_VIEW
    else:
        return OTHER
    infos = [subcommand(body(c)) for c in f.get("cmds") or ()]
    if len(infos) < 2:
        return infos[0] if infos else OTHER
    top = strongest(infos)
    kinds = " + ".join(dict.fromkeys(i.kind for i in infos))
    return LockInfo(kinds, top.lock, f"the strongest of {len(infos)} subcommands: {top.note}")


RENAMED = {"OBJECT_TABLE": ALTER_TABLE, "OBJECT_COLUMN": ALTER_TABLE, "OBJECT_TABCONSTRAINT": ALTER_TABLE,
           "OBJECT_INDEX": _info("ALTER INDEX", "SHARE UPDATE EXCLUSIVE", "renaming an index: reads and writes continue"),
           "OBJECT_VIEW": ALTER_VIEW, "OBJECT_MATVIEW": ALTER_VIEW,
           "OBJECT_TRIGGER": _info("ALTER TRIGGER", TABLE_LEVEL, BLOCKS_ALL)}


def _rename(f: Node) -> LockInfo:
    kind = f.get("renameType", "")
    if kind == "OBJECT_COLUMN" and f.get("relationType") in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
        return ALTER_VIEW
    return RENAMED.get(kind, OTHER)


def _comment(f: Node) -> LockInfo:
    kind = f.get("objtype")
    if kind in COMMENTED_RELATIONS:
        return _info("COMMENT", "SHARE UPDATE EXCLUSIVE", CONTINUE)
    if kind in ("OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY"):
        return _info("COMMENT", "ACCESS SHARE", "on the table it belongs to")
    return _info("COMMENT", "none on tables", "")


def _select(f: Node) -> LockInfo:
    if any(any(nodes(f, write)) for write in WRITES):
        return _info("DML", "ROW EXCLUSIVE", "a data-modifying WITH: row locks on the rows changed")
    if f.get("lockingClause"):
        return _info("SELECT FOR UPDATE/SHARE", "ROW SHARE", "row locks on the rows read")
    return QUERY


def _copy(f: Node) -> LockInfo:
    return _info("COPY FROM", "ROW EXCLUSIVE", "writes rows") if f.get("is_from") else QUERY


def _lock(f: Node) -> LockInfo:
    mode = f.get("mode", len(STRENGTH))
    lock = STRENGTH[mode - 1] if isinstance(mode, int) and 0 < mode <= len(STRENGTH) else TABLE_LEVEL
    return LockInfo("LOCK TABLE", lock, "explicit lock")


def _vacuum(f: Node) -> LockInfo:
    if any(body(o).get("defname") == "full" for o in f.get("options") or ()):
        return _info("VACUUM FULL", TABLE_LEVEL, "rewrites the table: " + BLOCKS_ALL)
    return _info("VACUUM / ANALYZE", "SHARE UPDATE EXCLUSIVE", CONTINUE)


def _view(f: Node) -> LockInfo:
    if f.get("replace"):
        return _info("CREATE OR REPLACE VIEW", TABLE_LEVEL, "on the view when it exists (a new one: nothing waits)")
    return CREATE_OBJECT


def _define(f: Node) -> LockInfo:
    return CREATE_OBJECT if f.get("kind") in DEFINED_OBJECTS else OTHER


def _alter_enum(f: Node) -> LockInfo:
    return OTHER if f.get("oldVal") else \
        _info("ALTER TYPE ADD VALUE", "none on tables", "the new value is usable only after commit")


def _moved(f: Node) -> LockInfo:
    return ALTER_TABLE if f.get("objectType") == "OBJECT_TABLE" else OTHER


def _fixed(info: LockInfo) -> Callable[[Node], LockInfo]:
    return lambda f: info


_RULES: dict[str, Callable[[Node], LockInfo]] = {
    "IndexStmt": _index, "DropStmt": _drop, "ReindexStmt": _reindex, "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as, "AlterTableStmt": _alter_table, "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _moved, "TruncateStmt": _fixed(DROP_TABLE),
    "CreateTrigStmt": _fixed(_info("CREATE TRIGGER", "SHARE ROW EXCLUSIVE", "blocks writes to the table")),
    "RuleStmt": _fixed(_info("CREATE RULE", TABLE_LEVEL, BLOCKS_ALL)),
    "CreatePolicyStmt": _fixed(_info("CREATE POLICY", TABLE_LEVEL, BLOCKS_ALL)),
    "CreateStatsStmt": _fixed(_info("CREATE STATISTICS", "SHARE UPDATE EXCLUSIVE", CONTINUE)),
    "ClusterStmt": _fixed(_info("CLUSTER", TABLE_LEVEL, "rewrites the table: " + BLOCKS_ALL)),
    "RefreshMatViewStmt": lambda f: _info("REFRESH MATERIALIZED VIEW CONCURRENTLY", "EXCLUSIVE", "reads continue")
    if f.get("concurrent") else _info("REFRESH MATERIALIZED VIEW", TABLE_LEVEL, "blocks reads of the view"),
    "VacuumStmt": _vacuum, "CommentStmt": _comment, "LockStmt": _lock,
    "InsertStmt": _fixed(DML), "UpdateStmt": _fixed(DML), "DeleteStmt": _fixed(DML), "MergeStmt": _fixed(DML),
    "SelectStmt": _select, "CopyStmt": _copy, "AlterEnumStmt": _alter_enum, "ViewStmt": _view,
    **{kind: _fixed(CREATE_OBJECT) for kind in ("CreateFunctionStmt", "CompositeTypeStmt", "CreateEnumStmt",
                                                "CreateRangeStmt", "CreateDomainStmt", "CreateSchemaStmt",
                                                "CreateSeqStmt", "CreateExtensionStmt")},
    "DefineStmt": _define,
    "AlterTableMoveAllStmt": _fixed(_info("ALTER ... ALL IN TABLESPACE", TABLE_LEVEL, "on every relation it moves")),
    "AlterObjectDependsStmt": _fixed(_info("ALTER ... DEPENDS ON EXTENSION", TABLE_LEVEL, "on the object itself")),
    **{kind: _fixed(SETTINGS) for kind in ("GrantStmt", "GrantRoleStmt", "VariableSetStmt", "ConstraintsSetStmt",
                                           "CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt",
                                           "AlterDefaultPrivilegesStmt")},
}
