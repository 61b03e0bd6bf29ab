"""No index is INVALID (left by a failed CREATE INDEX CONCURRENTLY): it slows every write and
serves no read.
Fix:  DROP INDEX CONCURRENTLY name; then build it again.
"""

from __future__ import annotations

from ..catalog import Catalog
from ..findings import Finding
from ..sql.identifiers import qualified

NAME = "invalid-index"
HELP = "no index is left INVALID"


def check(catalog: Catalog) -> list[Finding]:
    return [Finding(NAME, f"index {index.name} on {table.display} is INVALID", object=index.name,
                    hint=f"DROP INDEX CONCURRENTLY {qualified(table.schema, index.name)}; then build it again")
            for table in catalog.tables.values() for index in table.indexes if not index.valid]
