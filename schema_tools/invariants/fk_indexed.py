"""Every foreign key's columns lead some valid, non-partial index.

Without one, deleting or updating a referenced row scans the whole referencing table, and
joins on the key cannot use an index.
Bad:  CREATE TABLE s (user_id bigint REFERENCES users (id));
Good: ... plus CREATE INDEX s_user_id_idx ON s (user_id);
"""

from __future__ import annotations

from ..catalog import Catalog, Index
from ..findings import Finding

NAME = "fk-indexed"
HELP = "the columns of every foreign key lead some index"


def leads(index: Index, columns: tuple[str, ...]) -> bool:
    """True when a usable index starts with ``columns`` (in any order among themselves)."""
    return (index.valid and index.predicate is None and len(index.keys) >= len(columns)
            and set(index.keys[: len(columns)]) == set(columns))


def check(catalog: Catalog) -> list[Finding]:
    findings = []
    for table in catalog.tables.values():
        for fk in table.foreign_keys:
            if not any(leads(index, fk.columns) for index in table.indexes):
                cols = ", ".join(fk.columns)
                findings.append(Finding(NAME, f"foreign key {fk.name} ({cols}) -> {fk.ref_table} has no index leading with ({cols})",
                                        object=f"{table.display}.{fk.name}",
                                        hint=f"CREATE INDEX CONCURRENTLY {table.name}_{'_'.join(fk.columns)}_idx ON {table.display} ({cols});"))
    return findings
