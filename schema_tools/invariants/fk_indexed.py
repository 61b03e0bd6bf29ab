"""Every foreign key's columns lead some valid index (partial only on ``col IS NOT NULL``).

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
    """True when a usable index starts with ``columns`` (in any order among themselves): a plain
    index, or a partial one whose predicate only asks that some of them be NOT NULL (every key
    lookup ``col = $1`` implies it, so the planner uses it for the foreign key's checks)."""
    return (index.valid and (index.predicate is None or _not_null_only(index.predicate, columns))
            and len(index.keys) >= len(columns) and set(index.keys[: len(columns)]) == set(columns))


def _not_null_only(predicate: str, columns: tuple[str, ...]) -> bool:
    """``predicate`` is ``col IS NOT NULL`` (ANDed, parenthesised or not) of ``columns`` only."""
    text = " ".join(predicate.replace("(", " ").replace(")", " ").split())
    parts = [p.strip() for p in text.replace(" and ", " AND ").split(" AND ")]
    wanted = {c.lower() for c in columns} | {f'"{c}"' for c in columns}
    return all(p.upper().endswith(" IS NOT NULL") and p[: -len(" IS NOT NULL")].strip() in wanted for p in parts)


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
