"""What a lint rule sees of one statement: the statement, its tree, and the declared schema
as it stood before the statement's migration began."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar
from dataclasses import dataclass
from functools import cached_property

from sqlglot import exp

from ..config import POSTGRES_OLDEST
from ..findings import Finding, Severity
from ..sqlmodel import DeclaredSchema, Parsed
from ..sqlmodel.names import table_name


Action = TypeVar("Action", bound=exp.Expression)


@dataclass(frozen=True)
class Context:
    parsed: Parsed
    schema: DeclaredSchema    # the declared schema just before this statement
    postgres: int = POSTGRES_OLDEST  # the oldest PostgreSQL major the migrations must run on

    @property
    def node(self) -> exp.Expression | None:
        return self.parsed.node

    def is_existing(self, table: str) -> bool:
        """True unless this migration created the table: a table an earlier migration created may
        hold rows and traffic, and so may one the files never declare (made outside them, or by a
        statement the model could not read): when unsure, the rules speak."""
        return bool(table) and self.schema.created_in.get(table) != self.parsed.migration.id

    def finding(self, rule: str, message: str, hint: str, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(rule, message, severity, self.parsed.migration.id, hint, self.parsed.file,
                       self.parsed.statement.line, 1)

    def altered_table(self) -> str | None:
        """The table of an ALTER TABLE the parser understood."""
        return self._altered

    @cached_property
    def _altered(self) -> str | None:
        node = self.node
        if isinstance(node, exp.Alter) and str(node.args.get("kind", "")).upper() == "TABLE":
            return table_name(node.this)
        return None

    def existing_altered_table(self) -> str | None:
        """The table of an ALTER TABLE when an earlier migration created it (else None)."""
        table = self._altered
        return table if table is not None and self.is_existing(table) else None

    def existing_actions(self, kind: type[Action]) -> tuple[str, list[Action]]:
        """The table of an ALTER TABLE an earlier migration created, and the statement's actions of
        ``kind`` (ColumnDef, AlterColumn, AddConstraint...); ``("", [])`` for anything else. What
        every rule about changing an existing table starts from."""
        table = self.existing_altered_table()
        return (table, [a for a in self.actions() if isinstance(a, kind)]) if table is not None else ("", [])

    def actions(self) -> Iterator[exp.Expression]:
        node = self.node
        if isinstance(node, exp.Alter):
            yield from node.args.get("actions") or []

    @property
    def not_valid(self) -> bool:
        return bool(isinstance(self.node, exp.Alter) and self.node.args.get("not_valid"))
