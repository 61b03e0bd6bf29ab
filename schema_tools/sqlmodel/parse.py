"""Parse migration statements with PostgreSQL's own parser, one at a time, never raising."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..engine.files import Migration, Statement
from .pgtree import Node, body, parse_tree, tag

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Parsed:
    """A statement of a migration file and PostgreSQL's parse tree of it (None: not parsed,
    or the parser refused it)."""

    migration: Migration
    statement: Statement
    tree: Node | None
    rollback: bool = False
    kind: str = field(init=False, default="")  # the tree's node type: CreateStmt, AlterTableStmt...
    fields: Node = field(init=False, default_factory=dict)  # the tree's fields

    def __post_init__(self) -> None:
        kind = tag(self.tree)
        if kind:
            object.__setattr__(self, "kind", kind)
            object.__setattr__(self, "fields", body(self.tree))

    @property
    def file(self) -> str:
        return str(self.migration.rollback_path if self.rollback else self.migration.path)

    @property
    def unread(self) -> bool:
        """A statement the model should read whose tree PostgreSQL's parser did not give (a syntax
        error, or nesting deeper than the parser's JSON can carry)."""
        return self.tree is None and not NOT_READ.match(self.statement.sql)

    @cached_property
    def node(self) -> exp.Expression | None:
        """sqlglot's tree of the statement (for the commands that reason with sqlglot), parsed on
        first use: lint and the model never need it."""
        from ..sqltext.meaning import parse_statement

        return parse_statement(self.statement.sql)


NOT_READ = re.compile(r"^(?:INSERT|UPDATE|DELETE|MERGE|SELECT|WITH|VALUES|COPY|GRANT|REVOKE|SET|RESET|ANALY[SZ]E|"
                      r"VACUUM|CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|VIEW|TRIGGER|AGGREGATE))\b", re.IGNORECASE)
"""Statements neither the model nor a rule reads as a tree: kept as text, never parsed."""


def parse_migration(m: Migration) -> list[Parsed]:
    """Every statement of a migration, parsed (those NOT_READ kept as text)."""
    return [Parsed(m, stmt, None if NOT_READ.match(stmt.sql) else parse_tree(stmt.sql)) for stmt in m.statements]
