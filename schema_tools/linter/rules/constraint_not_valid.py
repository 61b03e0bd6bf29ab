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

from sqlglot import exp

from ...findings import Finding
from ..context import Context

NAME = "constraint-not-valid"
HELP = "FOREIGN KEY or CHECK added to an existing table without NOT VALID"


def check(ctx: Context) -> list[Finding]:
    table = ctx.existing_altered_table()
    if table is None or ctx.not_valid:
        return []
    findings = []
    for action in ctx.actions():
        if isinstance(action, exp.ColumnDef):  # ADD COLUMN ... REFERENCES / CHECK validates every row too
            kinds = {type(c.kind) for c in action.constraints}
            if kinds & {exp.Reference, exp.CheckColumnConstraint}:
                what = "FOREIGN KEY" if exp.Reference in kinds else "CHECK"
                findings.append(ctx.finding(NAME, f"adding a column with a {what} to {table} checks every existing "
                                            "row under a lock that blocks writes", "add the column alone, then add "
                                            "the constraint NOT VALID and VALIDATE CONSTRAINT separately"))
            continue
        if not isinstance(action, exp.AddConstraint):
            continue
        for item in action.expressions:
            parts = item.expressions if isinstance(item, exp.Constraint) else [item]
            for part in parts:
                kind = "FOREIGN KEY" if isinstance(part, exp.ForeignKey) else "CHECK" if isinstance(
                    part, exp.CheckColumnConstraint) else None
                if kind:
                    findings.append(ctx.finding(NAME, f"adding a {kind} to {table} checks every existing row under a "
                                                "lock that blocks writes", "add it NOT VALID, then VALIDATE CONSTRAINT "
                                                "in a separate statement"))
    return findings
