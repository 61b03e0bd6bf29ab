"""Timestamps are timestamptz: a timestamp without time zone silently depends on the writer's
time zone.
Bad:  created_at timestamp
Good: created_at timestamptz
"""

from __future__ import annotations

from ..catalog import Catalog
from ..findings import Finding
from ..sql.identifiers import quote

NAME = "timestamptz"
HELP = "timestamp columns are timestamp with time zone"


def check(catalog: Catalog) -> list[Finding]:
    return [Finding(NAME, f"column {table.display}.{column.name} is {column.type}",
                    object=f"{table.display}.{column.name}",
                    hint=f"ALTER TABLE {table.sql} ALTER COLUMN {quote(column.name)} TYPE timestamptz "
                         "(rewrites the table: plan it)")
            for table in catalog.tables.values() for column in table.columns
            if column.type.startswith("timestamp") and "without time zone" in column.type]
