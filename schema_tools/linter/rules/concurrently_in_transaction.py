"""CONCURRENTLY inside a transactional migration.

CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY cannot
run inside a transaction block; the runner wraps a migration in one unless its header says
otherwise, so the migration fails.
Bad:   CREATE INDEX CONCURRENTLY i ON t (a);                  (no header)
Good:  -- transactional: false
       CREATE INDEX CONCURRENTLY i ON t (a);
"""

from __future__ import annotations

import re

from sqlglot import exp

from ...findings import Finding
from ..context import Context

NAME = "concurrently-in-transaction"
HELP = "CONCURRENTLY in a migration that runs in a transaction"
CONCURRENT_COMMAND = re.compile(r"^(REINDEX\b.*\bCONCURRENTLY\b|ALTER\s+TABLE\b.*\bDETACH\s+PARTITION\b.*\bCONCURRENTLY\b|"
                                r"(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY\b|REFRESH\s+MATERIALIZED\s+VIEW\s+CONCURRENTLY)")


def check(ctx: Context) -> list[Finding]:
    if not ctx.parsed.migration.transactional:
        return []
    node = ctx.node
    concurrent = (isinstance(node, (exp.Create, exp.Drop)) and bool(node.args.get("concurrently"))) or (
        ctx.parsed.is_command and bool(CONCURRENT_COMMAND.match(ctx.parsed.command_text)))
    if not concurrent or ctx.parsed.command_text.startswith("REFRESH"):
        return []
    return [ctx.finding(NAME, "CONCURRENTLY cannot run inside the transaction this migration runs in",
                        "add '-- transactional: false' to the migration's header (and keep it to the "
                        "concurrent statements)")]
