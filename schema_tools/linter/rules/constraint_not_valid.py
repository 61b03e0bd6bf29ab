"""FOREIGN KEY or CHECK added to an existing table without NOT VALID.

Adding it validates every existing row while holding a lock that blocks writes (SHARE ROW
EXCLUSIVE for a foreign key, ACCESS EXCLUSIVE for a check). Add it NOT VALID (instant), then
VALIDATE CONSTRAINT in a later statement, which only takes SHARE UPDATE EXCLUSIVE.
Bad:   ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
       ALTER TABLE orders ADD COLUMN coupon_id bigint REFERENCES coupons (id);      (also validated)
Good:  ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
       ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;
"""

from __future__ import annotations

from ...findings import Finding
from ...sql.tree import body
from ..context import Context

NAME = "constraint-not-valid"
HELP = "FOREIGN KEY or CHECK added to an existing table without NOT VALID"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddColumn", "AT_AddConstraint"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def check(ctx: Context) -> list[Finding]:
    table = ctx.existing_altered_table()
    if table is None:
        return []
    findings = []
    for action in ctx.actions:
        subtype, definition = action.get("subtype"), action.get("def")
        if subtype == "AT_AddColumn":  # ADD COLUMN ... REFERENCES / CHECK validates every row too
            kinds = {body(c).get("contype") for c in body(definition).get("constraints") or ()}
            if kinds & {"CONSTR_FOREIGN", "CONSTR_CHECK"}:
                what = "FOREIGN KEY" if "CONSTR_FOREIGN" in kinds else "CHECK"
                findings.append(ctx.finding(NAME, f"adding a column with a {what} to {table} checks every existing "
                                            "row under a lock that blocks writes", "add the column alone, then add "
                                            "the constraint NOT VALID and VALIDATE CONSTRAINT separately"))
        elif subtype == "AT_AddConstraint":
            constraint = body(definition, "Constraint")
            kind = {"CONSTR_FOREIGN": "FOREIGN KEY", "CONSTR_CHECK": "CHECK"}.get(constraint.get("contype", ""))
            if kind and not constraint.get("skip_validation"):
                findings.append(ctx.finding(NAME, f"adding a {kind} to {table} checks every existing row under a "
                                            "lock that blocks writes", "add it NOT VALID, then VALIDATE CONSTRAINT "
                                            "in a separate statement"))
    return findings
