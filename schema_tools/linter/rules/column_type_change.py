"""A column type change that rewrites the table.

ALTER COLUMN ... TYPE rewrites every row (and rebuilds its indexes) under an ACCESS
EXCLUSIVE lock, except for changes PostgreSQL knows are binary compatible: varchar(n) to a
longer varchar or to text, numeric(p, s) to a larger p with the same s.
Bad:   ALTER TABLE events ALTER COLUMN id TYPE bigint;
Good:  ALTER TABLE users ALTER COLUMN name TYPE text;      (from varchar(n): no rewrite)
       or: add a new column, backfill in batches, swap in a later migration.
"""

from __future__ import annotations

import re

from ...findings import Finding
from ...sql.tree import body
from ...sql.typenames import type_text
from ..context import Context

NAME = "column-type-change"
HELP = "column type change that rewrites the table"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AlterColumnType"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def binary_compatible(old: str, new: str) -> bool:
    """True for the type changes PostgreSQL makes without a rewrite."""
    if old == new:
        return True
    varchar = re.compile(r"^character varying(?:\((\d+)\))?$")
    old_v, new_v = varchar.match(old), varchar.match(new)
    if old_v and (new == "text" or (new_v and (not new_v.group(1) or (old_v.group(1) and int(new_v.group(1)) >= int(old_v.group(1)))))):
        return True
    numeric = re.compile(r"^numeric\((\d+),(\d+)\)$")
    old_n, new_n = numeric.match(old), numeric.match(new)
    if old_n and (new == "numeric" or (new_n and int(new_n.group(1)) >= int(old_n.group(1)) and new_n.group(2) == old_n.group(2))):
        return True
    return old == "character varying" and new == "text"


def check(ctx: Context) -> list[Finding]:
    table, altered = ctx.existing_actions("AT_AlterColumnType")
    findings = []
    declared = ctx.schema.tables.get(table)
    for action in altered:
        column = action.get("name", "")
        new = type_text(body(action.get("def")).get("typeName"))
        old = declared.columns[column].type if declared and column in declared.columns else ""
        if old and binary_compatible(old, new):
            continue
        findings.append(ctx.finding(NAME, f"changing {table}.{column} from {old or 'its type'} to {new} rewrites "
                                    "the table under an ACCESS EXCLUSIVE lock", "add a new column, backfill it in "
                                    "batches and switch over in a later migration"))
    return findings
