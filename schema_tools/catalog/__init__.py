"""The live schema from pg_catalog, as frozen dataclasses: the model here; ``read`` (three
queries) and ``inventory`` (every object as a line) are imported where a connection is used."""

from .model import (BOOKKEEPING, Attached, Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table,
                    Unique)

__all__ = ["BOOKKEEPING", "Attached", "Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey",
           "Table", "Unique"]
