"""ADD UNIQUE or PRIMARY KEY directly on an existing table.

It builds the index while holding an ACCESS EXCLUSIVE lock. Build a unique index
concurrently first, then attach it as the constraint (instant).
Bad:   ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
Good:  -- transactional: false
       CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
       ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import body
from ..context import Context

NAME = "add-unique-directly"
HELP = "UNIQUE or PRIMARY KEY added to an existing table without a concurrently built index"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddConstraint", "AT_AddColumn"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.added_constraints("CONSTR_UNIQUE", "CONSTR_PRIMARY")
    findings = []
    for constraint in added:
        if constraint.get("indexname"):
            continue  # USING INDEX: the index was built before
        kind = "UNIQUE" if constraint["contype"] == "CONSTR_UNIQUE" else "PRIMARY KEY"
        findings.append(ctx.finding(NAME, f"adding {kind} to {table} builds its index under an ACCESS "
                                    "EXCLUSIVE lock", f"CREATE UNIQUE INDEX CONCURRENTLY first, then ADD "
                                    f"CONSTRAINT ... {kind} USING INDEX"))
    for action in ctx.existing_actions("AT_AddColumn")[1]:
        kinds = {body(c).get("contype") for c in body(action.get("def")).get("constraints") or ()}
        if kinds & {"CONSTR_UNIQUE", "CONSTR_PRIMARY"}:
            findings.append(ctx.finding(NAME, f"adding a UNIQUE column to {table} builds its index under an ACCESS "
                                        "EXCLUSIVE lock", "add the column, then CREATE UNIQUE INDEX CONCURRENTLY and "
                                        "ADD CONSTRAINT ... UNIQUE USING INDEX"))
    return findings
