"""ADD COLUMN on an existing table that rewrites it: a volatile default, an identity, a serial,
a stored generated column (and, before PostgreSQL 11, any default at all).

A rewrite copies every row under an ACCESS EXCLUSIVE lock: reads and writes wait until it ends.
A constant or stable default (``0``, ``'new'``, ``now()``) is stored once, instantly, since 11;
a volatile one (``clock_timestamp()``, ``random()``, ``gen_random_uuid()``, ``uuid_generate_v4()``,
``nextval(...)``) is computed for each row. ``gen_random_uuid()`` is volatile: it rewrites too.
Bad:   ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();
Good:  ALTER TABLE orders ADD COLUMN token uuid;      (then backfill in batches,
       ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();   which only affects new rows)
"""

from __future__ import annotations

import re

from sqlglot import exp

from ...findings import Finding
from ...sqlmodel.names import SERIALS, ident, sql_of
from ..context import Context

NAME = "add-column-rewrites-table"
HELP = "ADD COLUMN whose default is computed per row (volatile, identity, serial, stored): the table is rewritten"
VOLATILE = re.compile(r"\b(clock_timestamp|random|gen_random_uuid|uuid_generate_v[14](?:mc)?|timeofday|nextval|setseed|"
                      r"random_normal|txid_current|pg_current_xact_id)\s*\(", re.IGNORECASE)
NO_REWRITE_SINCE = 11


def _why(ctx: Context, column: exp.ColumnDef) -> str:
    kind = column.args.get("kind")
    if kind is not None and kind.this in SERIALS:
        return f"its type {kind.this.value.lower()} fills it from a sequence, row by row"
    for constraint in column.constraints:
        c = constraint.kind
        if isinstance(c, exp.GeneratedAsIdentityColumnConstraint) and c.args.get("expression") is None:
            return "an identity column is filled from a sequence, row by row"
        if isinstance(c, exp.ComputedColumnConstraint):
            return "a stored generated column is computed for every row"
        if isinstance(c, exp.DefaultColumnConstraint):
            text = sql_of(c.this) or ""
            volatile = VOLATILE.search(text)
            if volatile:
                return f"its default calls {volatile.group(1).lower()}(), which is volatile: computed for every row"
            if ctx.postgres < NO_REWRITE_SINCE and text.upper() != "NULL":
                return f"before PostgreSQL {NO_REWRITE_SINCE} (postgres = {ctx.postgres}) any default is written to every row"
    return ""


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.existing_actions(exp.ColumnDef)
    findings = []
    for action in added:
        why = _why(ctx, action)
        if why:
            findings.append(ctx.finding(NAME, f"adding column {ident(action.this)} rewrites {table} under an ACCESS "
                                        f"EXCLUSIVE lock: {why}", "add the column without it (nullable, or with a "
                                        "constant default), backfill in batches, then SET DEFAULT for new rows"))
    return findings
