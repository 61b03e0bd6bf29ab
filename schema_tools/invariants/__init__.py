"""Schema-wide invariants: small pure functions over the catalog, one module each.

Each module has NAME, HELP and ``check(catalog) -> list[Finding]``. All are on by default;
``[tool.schema_tools.verify] disable = ["NAME", ...]`` switches some off.
"""

from __future__ import annotations

from types import ModuleType

from . import fk_indexed, invalid_index, no_rules, not_valid, primary_key, redundant_index, timestamptz

INVARIANTS: tuple[ModuleType, ...] = (fk_indexed, redundant_index, invalid_index, primary_key, timestamptz, not_valid,
                                      no_rules)
NAMES = tuple(m.NAME for m in INVARIANTS)
