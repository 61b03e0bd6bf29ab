"""DROP INDEX without CONCURRENTLY on an index of a table that existed before this migration.

A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: every read and write waits
(and queues behind any long transaction). CONCURRENTLY waits for them instead of blocking.
Bad:   DROP INDEX orders_created_at_idx;
Good:  -- transactional: false
       DROP INDEX CONCURRENTLY IF EXISTS orders_created_at_idx;
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import qualified, strings
from ..context import Context

NAME = "drop-index-not-concurrently"
HELP = "DROP INDEX without CONCURRENTLY on a table that existed before this migration"
KINDS = {"DropStmt"}  # the statements it reads (node types)


def check(ctx: Context) -> list[Finding]:
    if ctx.kind != "DropStmt" or ctx.tree.get("removeType") != "OBJECT_INDEX" or ctx.tree.get("concurrent"):
        return []
    findings = []
    for target in ctx.tree.get("objects") or ():
        index = qualified(strings(target))
        owner = ctx.schema.index_owner.get(index.split(".")[-1], "")
        if owner and not ctx.is_existing(owner):
            continue  # its table was created in this migration
        on = f" on {owner}" if owner else " (on a table these migrations do not declare: treated as existing)"
        findings.append(ctx.finding(NAME, f"DROP INDEX {index} locks its table{on} against reads and writes "
                                    "(ACCESS EXCLUSIVE)", "use DROP INDEX CONCURRENTLY in a migration with "
                                    "'-- transactional: false'"))
    return findings
