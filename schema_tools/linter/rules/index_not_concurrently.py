"""CREATE INDEX without CONCURRENTLY on a table an earlier migration created.

A plain CREATE INDEX holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE
on the table waits. On a table created in the same migration it is harmless (nothing else
can see the table yet), so the rule stays silent there.
Bad:   CREATE INDEX orders_customer_id_idx ON orders (customer_id);
Good:  -- transactional: false
       CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import relation
from ..context import Context

NAME = "index-not-concurrently"
HELP = "index built without CONCURRENTLY on a table that existed before this migration"
KINDS = {"IndexStmt"}  # the statements it reads (node types)


def check(ctx: Context) -> list[Finding]:
    if ctx.kind != "IndexStmt" or ctx.tree.get("concurrent"):
        return []
    table = relation(ctx.tree.get("relation"))
    if not ctx.is_existing(table):
        return []
    return [ctx.finding(NAME, f"CREATE INDEX on {table} blocks writes to it while the index builds",
                        "use CREATE INDEX CONCURRENTLY in a migration with '-- transactional: false'")]
