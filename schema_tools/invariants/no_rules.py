"""No table has a rule: a rule rewrites queries before they run (``DO INSTEAD NOTHING`` makes
every INSERT vanish without an error), invisibly to the code that sends them. A view, a trigger
or a constraint says the same thing where a reader looks.
Fix:  DROP RULE name ON table;
"""

from __future__ import annotations

from ..catalog import Catalog
from ..findings import Finding
from ..sql.identifiers import quote

NAME = "no-rules"
HELP = "no table has a rule (rules rewrite queries silently)"


def check(catalog: Catalog) -> list[Finding]:
    return [Finding(NAME, f"table {table.display} has rule {rule.name}: {' '.join(rule.definition.split())}",
                    object=f"{table.display}.{rule.name}",
                    hint=f"DROP RULE {quote(rule.name)} ON {table.sql}; (a trigger, view or constraint says it openly)")
            for table in catalog.tables.values() for rule in table.attached_of("rule")]
