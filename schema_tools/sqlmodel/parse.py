"""A migration's statements as the model and the rules read them: each with its migration and
file, its parse tree read once by PostgreSQL's own parser (``Statement``)."""

from __future__ import annotations

from ..migration_files.model import Migration
from ..sql.statement import Statement
from ..sql.tree import Node

class Parsed:
    """A statement of a migration file (or its rollback file) and the migration it belongs to;
    ``kind`` (the tree's node type, "" when the parser refused it) and ``fields`` (its fields)
    kept at hand: the model and the rules read them many times."""

    __slots__ = ("migration", "statement", "rollback", "kind", "fields")

    def __init__(self, migration: Migration, statement: Statement, rollback: bool = False) -> None:
        self.migration = migration
        self.statement = statement
        self.rollback = rollback
        self.kind: str = statement.kind
        self.fields: Node = statement.fields

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
