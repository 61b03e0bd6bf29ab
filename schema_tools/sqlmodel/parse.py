"""A migration's statements as the model and the rules read them: each with its migration and
file, its parse tree read once by PostgreSQL's own parser (``Statement``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..migration_files.model import Migration
from ..sql.statement import Statement
from ..sql.tree import Node

@dataclass(frozen=True)
class Parsed:
    """A statement of a migration file (or its rollback file) and the migration it belongs to."""

    migration: Migration
    statement: Statement
    rollback: bool = False
    kind: str = field(init=False, default="")  # the tree's node type (CreateStmt...); "" when the parser refused it
    fields: Node = field(init=False, default_factory=dict)  # the tree's fields ({} when the parser refused it)

    def __post_init__(self) -> None:  # read many times by the model and the rules: kept at hand
        object.__setattr__(self, "kind", self.statement.kind)
        object.__setattr__(self, "fields", self.statement.fields)

    @property
    def tree(self) -> Node | None:
        return self.statement.tree

    @property
    def file(self) -> str:
        return str(self.migration.rollback_path if self.rollback else self.migration.path)

    @property
    def unread(self) -> bool:
        """A statement PostgreSQL's parser did not give a tree for (a syntax error, or nesting
        deeper than the parser's JSON can carry)."""
        return self.statement.tree is None


def parse_migration(m: Migration) -> list[Parsed]:
    """Every statement of a migration, with its tree."""
    return [Parsed(m, stmt) for stmt in m.statements]
