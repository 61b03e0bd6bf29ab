"""ADD CONSTRAINT ... EXCLUDE on a table that existed before this migration.

An exclusion constraint builds its index while holding an ACCESS EXCLUSIVE lock on the table,
and, unlike UNIQUE, cannot be attached from an index built CONCURRENTLY first: every read and
write waits for the whole build. Add it while the table is small, or in a maintenance window.
Bad:   ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);
Good:  CREATE TABLE bookings (..., CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));
       (in the migration that creates the table; later, only in a window, with '-- lock_timeout: 3s')
"""

from __future__ import annotations

from ...findings import Finding
from ..context import Context

NAME = "exclusion-constraint"
HELP = "EXCLUDE constraint added to an existing table (its index builds under ACCESS EXCLUSIVE)"
KINDS = {"AlterTableStmt"}  # the statements it reads (node types)
SUBCOMMANDS = {"AT_AddConstraint"}  # of an ALTER TABLE: the subcommands it reads (AT_...)


def check(ctx: Context) -> list[Finding]:
    table, added = ctx.added_constraints("CONSTR_EXCLUSION")
    if added:
        return [ctx.finding(NAME, f"adding an EXCLUDE constraint to {table} builds its index under an ACCESS "
                                "EXCLUSIVE lock: reads and writes wait for the whole build", "add it when the table "
                                "is created, or in a maintenance window with a lock_timeout")]
    return []
