"""What a lint rule sees of one statement: the statement, PostgreSQL's parse tree of it, and
the declared schema as it stood before the statement's migration began."""

from __future__ import annotations

from ..config import POSTGRES_OLDEST
from ..findings import Finding, Severity
from ..sqlmodel import DeclaredSchema, Parsed
from ..sql.tree import Node, body, relation


class Context:
    """One statement as the rules see it (built once per statement: the rules read it many times)."""

    __slots__ = ("parsed", "schema", "postgres", "kind", "tree", "altered_table", "actions", "_existing")

    def __init__(self, parsed: Parsed, schema: DeclaredSchema, postgres: int = POSTGRES_OLDEST) -> None:
        self.parsed = parsed
        self.schema = schema  # the declared schema just before this statement
        self.postgres = postgres  # the oldest PostgreSQL major the migrations must run on
        self.kind = parsed.kind  # the statement's node type (CreateStmt, AlterTableStmt...); "" when not parsed
        self.tree = parsed.fields  # the statement's fields ({} when not parsed)
        altered = self.kind == "AlterTableStmt" and self.tree.get("objtype") == "OBJECT_TABLE"
        self.altered_table: str | None = relation(self.tree.get("relation")) if altered else None  # of an ALTER TABLE
        self.actions: list[Node] = [body(c) for c in self.tree.get("cmds") or ()] if altered else []  # its subcommands
        self._existing: str | None = None  # existing_altered_table, once asked ("": not an existing table)

    def is_existing(self, table: str) -> bool:
        """True unless this migration created the table: a table an earlier migration created may
        hold rows and traffic, and so may one the files never declare (made outside them, or by a
        statement the model could not read): when unsure, the rules speak."""
        return bool(table) and self.schema.created_in.get(table) != self.parsed.migration.id

    def finding(self, rule: str, message: str, hint: str, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(rule, message, severity, self.parsed.migration.id, hint, self.parsed.file,
                       self.parsed.statement.line, 1)

    def existing_altered_table(self) -> str | None:
        """The table of an ALTER TABLE when an earlier migration created it (else None); the rules
        ask it again and again for one statement, and the schema does not change meanwhile."""
        if self._existing is None:
            table = self.altered_table
            self._existing = table if table is not None and self.is_existing(table) else ""
        return self._existing or None

    def existing_actions(self, *subtypes: str) -> tuple[str, list[Node]]:
        """The table of an ALTER TABLE an earlier migration created, and the statement's subcommands
        of these ``subtypes`` (AT_AddColumn, AT_AddConstraint...); ``("", [])`` for anything else.
        What every rule about changing an existing table starts from."""
        if not self.actions:
            return "", []
        table = self.existing_altered_table()
        return (table, [a for a in self.actions if a.get("subtype") in subtypes]) if table is not None else ("", [])

    def added_constraints(self, *contypes: str) -> tuple[str, list[Node]]:
        """``existing_actions`` for ADD CONSTRAINT, as the constraints' fields, of these ``contypes``."""
        table, added = self.existing_actions("AT_AddConstraint")
        return table, [c for a in added if (c := body(a.get("def"), "Constraint")).get("contype") in contypes]
