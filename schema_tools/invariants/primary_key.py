"""Every table has a primary key: rows can be addressed, replicated logically and deduplicated.
Bad:  CREATE TABLE t (a int);
Good: CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int);
"""

from __future__ import annotations

from ..catalog import Catalog
from ..findings import Finding

NAME = "primary-key"
HELP = "every table has a primary key"


def check(catalog: Catalog) -> list[Finding]:
    return [Finding(NAME, f"table {table.display} has no primary key", object=table.display,
                    hint=f"ALTER TABLE {table.sql} ADD PRIMARY KEY (...);")
            for table in catalog.tables.values() if table.primary_key is None]
