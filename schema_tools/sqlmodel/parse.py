"""Parse migration statements with sqlglot, one at a time, never raising."""

from __future__ import annotations

import re
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


NOT_READ = re.compile(r"^(?:INSERT|UPDATE|DELETE|MERGE|SELECT|WITH|VALUES|COPY|COMMENT|GRANT|REVOKE|SET|RESET|ANALY[SZ]E|"
                      r"VACUUM|CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|VIEW|TRIGGER|AGGREGATE))\b", re.IGNORECASE)
"""Statements neither the model nor a rule reads as a tree: kept as text, never parsed (a plpgsql
body costs sqlglot a parse attempt and ends as a Command anyway)."""


def parse_migration(m: Migration) -> list[Parsed]:
    """Every statement of a migration, parsed (those NOT_READ kept as text)."""
    return [Parsed(m, stmt, None if NOT_READ.match(stmt.sql) else parse_statement(stmt.sql)) for stmt in m.statements]
