"""The live schema from pg_catalog, as frozen dataclasses."""

from .inventory import inventory
from .model import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from .read import BOOKKEEPING, read_catalog

__all__ = ["BOOKKEEPING", "Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table",
           "Unique", "inventory", "read_catalog"]
