"""CREATE INDEX without CONCURRENTLY on a table an earlier migration created.

A plain CREATE INDEX holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE
on the table waits. On a table created in the same migration it is harmless (nothing else
can see the table yet), so the rule stays silent there.
Bad:   CREATE INDEX orders_customer_id_idx ON orders (customer_id);
Good:  -- transactional: false
       CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
"""

from __future__ import annotations

from sqlglot import exp

from ...findings import Finding
from ...sqlmodel.names import table_name
from ..context import Context

NAME = "index-not-concurrently"
HELP = "index built without CONCURRENTLY on a table that existed before this migration"


def check(ctx: Context) -> list[Finding]:
    node = ctx.node
    if not (isinstance(node, exp.Create) and str(node.args.get("kind", "")).upper() == "INDEX"):
        return []
    if node.args.get("concurrently"):
        return []
    table = table_name(node.this.args.get("table")) if isinstance(node.this, exp.Index) else ""
    if not ctx.is_existing(table):
        return []
    return [ctx.finding(NAME, f"CREATE INDEX on {table} blocks writes to it while the index builds",
                        "use CREATE INDEX CONCURRENTLY in a migration with '-- transactional: false'")]
