"""What a lint rule sees of one statement: the statement, PostgreSQL's parse tree of it, and
the declared schema as it stood before the statement's migration began."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..config import POSTGRES_OLDEST
from ..findings import Finding, Severity
from ..sqlmodel import DeclaredSchema, Parsed
from ..sqlmodel.pgtree import Node, body, relation


@dataclass(frozen=True)
class Context:
    parsed: Parsed
    schema: DeclaredSchema    # the declared schema just before this statement
    postgres: int = POSTGRES_OLDEST  # the oldest PostgreSQL major the migrations must run on

    @property
    def kind(self) -> str:
        """The statement's node type (``CreateStmt``, ``AlterTableStmt``...); "" when not parsed."""
        return self.parsed.kind

    @property
    def tree(self) -> Node:
        """The statement's fields ({} when not parsed)."""
        return body(self.parsed.tree)

    def is_existing(self, table: str) -> bool:
        """True unless this migration created the table: a table an earlier migration created may
        hold rows and traffic, and so may one the files never declare (made outside them, or by a
        statement the model could not read): when unsure, the rules speak."""
        return bool(table) and self.schema.created_in.get(table) != self.parsed.migration.id

    def finding(self, rule: str, message: str, hint: str, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(rule, message, severity, self.parsed.migration.id, hint, self.parsed.file,
                       self.parsed.statement.line, 1)

    @cached_property
    def altered_table(self) -> str | None:
        """The table of an ALTER TABLE."""
        if self.kind == "AlterTableStmt" and self.tree.get("objtype") == "OBJECT_TABLE":
            return relation(self.tree.get("relation"))
        return None

    def existing_altered_table(self) -> str | None:
        """The table of an ALTER TABLE when an earlier migration created it (else None)."""
        table = self.altered_table
        return table if table is not None and self.is_existing(table) else None

    @cached_property
    def actions(self) -> list[Node]:
        """The subcommands of an ALTER TABLE (each an AlterTableCmd's fields)."""
        return [body(c) for c in self.tree.get("cmds") or ()] if self.altered_table is not None else []

    def existing_actions(self, *subtypes: str) -> tuple[str, list[Node]]:
        """The table of an ALTER TABLE an earlier migration created, and the statement's subcommands
        of these ``subtypes`` (AT_AddColumn, AT_AddConstraint...); ``("", [])`` for anything else.
        What every rule about changing an existing table starts from."""
        table = self.existing_altered_table()
        return (table, [a for a in self.actions if a.get("subtype") in subtypes]) if table is not None else ("", [])

    def added_constraints(self, *contypes: str) -> tuple[str, list[Node]]:
        """``existing_actions`` for ADD CONSTRAINT, as the constraints' fields, of these ``contypes``."""
        table, added = self.existing_actions("AT_AddConstraint")
        return table, [c for a in added if (c := body(a.get("def"), "Constraint")).get("contype") in contypes]
