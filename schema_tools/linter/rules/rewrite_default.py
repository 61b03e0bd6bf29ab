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

from ...findings import Finding
from ...sql.tree import Node, body, calls, parse_tree, strings
from ...sql.typenames import SERIALS, type_base
from ..context import Context

NAME = "add-column-rewrites-table"
HELP = "ADD COLUMN whose default is computed per row (volatile, identity, serial, stored): the table is rewritten"
VOLATILE = {"clock_timestamp", "random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
            "uuid_generate_v4", "timeofday", "nextval", "setseed", "random_normal", "txid_current", "pg_current_xact_id"}
NO_REWRITE_SINCE = 11
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddColumn"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def volatile_call(expression: object) -> str | None:
    """The first volatile function an expression calls (None: it calls none)."""
    return next((name for name in calls(expression) if name in VOLATILE), None)


def volatile_default(text: str) -> str | None:
    """``volatile_call`` of a default given as SQL text."""
    targets = body(parse_tree(f"SELECT {text}"), "SelectStmt").get("targetList") or ()
    return volatile_call(targets) if len(targets) == 1 else None


def _why(ctx: Context, column: Node) -> str:
    type_name = column.get("typeName") or {}
    if type_base(type_name) in SERIALS and len(strings(type_name.get("names"))) == 1:
        return f"its type {type_base(type_name)} fills it from a sequence, row by row"
    for constraint in column.get("constraints") or ():
        c = body(constraint)
        if c.get("contype") == "CONSTR_IDENTITY":
            return "an identity column is filled from a sequence, row by row"
        if c.get("contype") == "CONSTR_GENERATED":
            return "a stored generated column is computed for every row"
        if c.get("contype") == "CONSTR_DEFAULT":
            volatile = volatile_call(c.get("raw_expr"))
            if volatile:
                return f"its default calls {volatile}(), which is volatile: computed for every row"
            is_null = body(c.get("raw_expr"), "A_Const").get("isnull")
            if ctx.postgres < NO_REWRITE_SINCE and not is_null:
                return f"before PostgreSQL {NO_REWRITE_SINCE} (postgres = {ctx.postgres}) any default is written to every row"
    return ""


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.existing_actions("AT_AddColumn")
    findings = []
    for action in added:
        column = body(action.get("def"))
        why = _why(ctx, column)
        if why:
            findings.append(ctx.finding(NAME, f"adding column {column.get('colname')} rewrites {table} under an ACCESS "
                                        f"EXCLUSIVE lock: {why}", "add the column without it (nullable, or with a "
                                        "constant default), backfill in batches, then SET DEFAULT for new rows"))
    return findings
