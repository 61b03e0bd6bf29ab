"""Parse migration statements with sqlglot, one at a time, never raising."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..engine.files import Migration, Statement
from ..sqltext.meaning import parse_statement

@dataclass(frozen=True)
class Parsed:
    """A statement of a migration file and what sqlglot made of it (None: it could not parse it)."""

    migration: Migration
    statement: Statement
    node: exp.Expression | None
    rollback: bool = False

    @property
    def file(self) -> str:
        return str(self.migration.rollback_path if self.rollback else self.migration.path)

    @property
    def is_command(self) -> bool:
        """sqlglot kept the text unparsed (DO blocks, plpgsql functions, VALIDATE CONSTRAINT...)."""
        return self.node is None or isinstance(self.node, exp.Command)

    @property
    def command_text(self) -> str:
        """The statement's text, upper-cased and folded, for commands sqlglot does not model."""
        return " ".join(self.statement.sql.split()).upper()


def parse_migration(m: Migration) -> list[Parsed]:
    """Every statement of a migration, parsed."""
    return [Parsed(m, stmt, parse_statement(stmt.sql)) for stmt in m.statements]
