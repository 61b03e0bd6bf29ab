"""No index duplicates another or is a left prefix of another btree index.

An index is redundant when another valid btree index on the same table starts with the same
key columns (or has exactly them), unless it enforces uniqueness the other does not, is
partial, or carries INCLUDE columns: those serve a purpose the other cannot.
Bad:  CREATE INDEX a ON t (x);  CREATE INDEX b ON t (x, y);
Good: CREATE INDEX b ON t (x, y);
"""

from __future__ import annotations

from ..catalog import Catalog, Index
from ..findings import Finding
from ..sql.identifiers import qualified

NAME = "redundant-index"
HELP = "no index duplicates another or is a left prefix of another btree index"


def _reported_first(index: Index, other: Index) -> bool:
    """Of two equivalent indexes, report the one that backs no constraint, else the later name."""
    if (index.constraint is None) != (other.constraint is None):
        return index.constraint is None
    return index.name > other.name


def covered_by(index: Index, other: Index) -> bool:
    """True when ``other`` serves every query ``index`` serves and ``index`` adds nothing."""
    if index.name == other.name or not other.valid or other.predicate is not None:
        return False
    if index.method != "btree" or other.method != "btree" or index.predicate is not None or index.include:
        return False
    if other.keys[: len(index.keys)] != index.keys:
        return False
    if index.unique:  # uniqueness is a purpose: only the same uniqueness elsewhere covers it
        return other.unique and other.keys == index.keys and not index.primary and (
            other.primary or _reported_first(index, other))
    if other.keys != index.keys or other.unique:
        return True
    return _reported_first(index, other)


def redundant(indexes: tuple[Index, ...]) -> list[tuple[Index, Index]]:
    """(redundant index, the index that covers it) pairs. Only a plain btree index can be
    redundant, and only a valid, complete btree index can cover one (``covered_by``'s first
    tests, made once per index rather than once per pair)."""
    covers = [o for o in indexes if o.valid and o.predicate is None and o.method == "btree"]
    by_first: dict[str, list[Index]] = {}  # a cover starts with the keys it covers: the same first key
    for o in covers:
        by_first.setdefault(o.keys[0] if o.keys else "", []).append(o)
    pairs = []
    for index in indexes:
        if index.method != "btree" or index.predicate is not None or index.include:
            continue
        candidates = by_first.get(index.keys[0], ()) if index.keys else covers
        cover = next((o for o in candidates if covered_by(index, o)), None)
        if cover is not None:
            pairs.append((index, cover))
    return pairs


def check(catalog: Catalog) -> list[Finding]:
    findings = []
    for table in catalog.tables.values():
        for index, cover in redundant(table.indexes):
            same = index.keys == cover.keys
            what = "duplicates" if same else "is a left prefix of"
            findings.append(Finding(NAME, f"index {index.name} ({', '.join(index.keys)}) {what} {cover.name} "
                                    f"({', '.join(cover.keys)}) on {table.display}", object=index.name,
                                    hint=f"DROP INDEX CONCURRENTLY {qualified(table.schema, index.name)};"))
    return findings
