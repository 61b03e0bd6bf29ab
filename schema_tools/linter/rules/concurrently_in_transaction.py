"""CONCURRENTLY inside a transactional migration.

CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY cannot
run inside a transaction block; the runner wraps a migration in one unless its header says
otherwise, so the migration fails.
Bad:   CREATE INDEX CONCURRENTLY i ON t (a);                  (no header)
Good:  -- transactional: false
       CREATE INDEX CONCURRENTLY i ON t (a);
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import body
from ..context import Context

NAME = "concurrently-in-transaction"
HELP = "CONCURRENTLY in a migration that runs in a transaction"
def check(ctx: Context) -> list[Finding]:
    if not ctx.parsed.migration.transactional:
        return []
    if not _concurrent(ctx):
        return []
    return [ctx.finding(NAME, "CONCURRENTLY cannot run inside the transaction this migration runs in",
                        "add '-- transactional: false' to the migration's header (and keep it to the "
                        "concurrent statements)")]
KINDS = {"IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_DetachPartition"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def _concurrent(ctx: Context) -> bool:
    """CREATE / DROP INDEX, REINDEX and DETACH PARTITION ... CONCURRENTLY (REFRESH MATERIALIZED
    VIEW CONCURRENTLY may run in a transaction)."""
    tree = ctx.tree
    if ctx.kind in ("IndexStmt", "DropStmt"):
        return bool(tree.get("concurrent"))
    if ctx.kind == "ReindexStmt":
        return any(body(p).get("defname") == "concurrently" for p in tree.get("params") or ())
    if ctx.kind == "AlterTableStmt":
        return any(body(c).get("subtype") == "AT_DetachPartition" and body(body(c).get("def")).get("concurrent")
                   for c in tree.get("cmds") or ())
    return False
