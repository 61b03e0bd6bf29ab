"""The live schema from pg_catalog, as frozen dataclasses."""

from .inventory import inventory
from .model import Attached, Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from .read import BOOKKEEPING, read_catalog

__all__ = ["Attached", "BOOKKEEPING", "Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table",
           "Unique", "inventory", "read_catalog"]
