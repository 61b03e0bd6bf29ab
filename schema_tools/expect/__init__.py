"""Expectations: what tables must look like, read from TOML, checked against a catalog (pure)."""

from .model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation
from .parse import load_expectations, load_toml, tables_from
from .check import check_invariants, normal_type, verify

__all__ = ["ColumnSpec", "ForeignKeySpec", "IndexSpec", "TableExpectation", "check_invariants", "load_expectations",
           "load_toml", "normal_type", "tables_from", "verify"]
