"""RENAME statements, read from PostgreSQL's parse tree (``ALTER TABLE person RENAME a TO b``
renames a column: COLUMN is optional)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sql.tree import body, relation

KINDS = {"OBJECT_TABLE": "table", "OBJECT_VIEW": "table", "OBJECT_MATVIEW": "table", "OBJECT_FOREIGN_TABLE": "table",
         "OBJECT_COLUMN": "column", "OBJECT_TABCONSTRAINT": "constraint", "OBJECT_INDEX": "index"}


@dataclass(frozen=True)
class Rename:
    """What a RENAME statement renames: ``kind`` is table, column, constraint or index; ``on``
    the table (for an index: the index itself); names as PostgreSQL stores them."""

    kind: str
    on: str
    old: str
    new: str


def rename_of(tree: Any) -> Rename | None:
    """The rename a statement's tree performs, or None when it is not a RENAME of these kinds."""
    r = body(tree, "RenameStmt")
    kind = KINDS.get(r.get("renameType", ""))
    if kind is None or not r.get("relation"):
        return None
    on = relation(r["relation"])
    old = on.split(".")[-1] if kind in ("table", "index") else r.get("subname", "")
    return Rename(kind, on, old, r.get("newname", ""))
