"""A migration as its files say it, and the ordered, immutable set a folder holds: what every
verb is handed once its command has read the folder (no verb reads it again below)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import overload

from ..sql.script import Script, SyntaxProblem, read_script
from ..sql.statement import Statement

ROLLBACK_SUFFIX = ".rollback.sql"
OUTSIDE_TRANSACTION = ("VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
                       "DropTableSpaceStmt")
"""Statements PostgreSQL runs only outside a transaction block (besides the CONCURRENTLY forms)."""


def normalised_checksum(text: str) -> str:
    """sha256 of the content with line endings normalised to LF."""
    canonical = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def unwrapped(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """``statements`` without a plain ``BEGIN``/``START TRANSACTION`` first and ``COMMIT`` last
    around them, when nothing between begins or ends a transaction."""
    if len(statements) < 2 or statements[0].transaction_control not in ("BEGIN", "START TRANSACTION") \
            or statements[0].fields.get("options") or statements[-1].transaction_control != "COMMIT" \
            or statements[-1].fields.get("chain"):
        return statements
    inner = statements[1:-1]
    return statements if any(s.transaction_control for s in inner) else inner


@dataclass(frozen=True)
class Migration:
    """One migration: its id, its file and text, its rollback's text (None: no rollback file),
    and the directives of its header (``depends``, ``transactional``, ``lock_timeout``...)."""

    id: str
    path: Path
    text: str
    rollback_text: str | None
    directives: dict[str, str] = field(default_factory=dict)
    rollback_file: Path | None = None  # where the rollback is (another layout's down file or section)
    written: str | None = None  # what the checksum is of, when not ``text``: the file as written (placeholders), a section alone
    only_tool: str = ""  # which tool alone can run it (a goose .go migration...): migrate stops before it
    repeatable: bool = False  # Flyway's R__: applied after the versioned ones, again when its checksum changes
    no_rollback: str = ""  # why the layout has no rollback at all (Prisma): rollback refuses, saying it
    check_file: Path | None = None  # a script that checks the migration took (sqitch's verify/)
    check_text: str | None = None

    @property
    def depends(self) -> tuple[str, ...]:
        return tuple(self.directives.get("depends", "").split())

    @cached_property
    def transactional(self) -> bool:
        """In one transaction with its record. ``auto`` (tools that send the file as it is written:
        golang-migrate, Prisma, sqitch, Flyway): unless the file ends or begins transactions itself or
        holds a statement no transaction block takes (CONCURRENTLY, VACUUM...), run as written."""
        mode = self.directives.get("transactional", "true").lower()
        if mode == "auto":
            return not any(s.transaction_control or s.concurrently or s.kind in OUTSIDE_TRANSACTION
                           for s in self.statements)
        return mode == "true"

    @property
    def rollback_path(self) -> Path:
        return self.rollback_file or self.path.with_name(self.id + ROLLBACK_SUFFIX)

    @cached_property
    def checksum(self) -> str:
        return normalised_checksum(self.text if self.written is None else self.written)

    @cached_property
    def _script(self) -> Script:
        return read_script(self.text)

    @cached_property
    def _rollback_script(self) -> Script:
        if self.rollback_text is None:
            return Script(())
        return read_script(self.rollback_text, trees=False)  # most rollback statements are never read as trees

    @property
    def _auto(self) -> bool:
        return self.directives.get("transactional") == "auto"

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The statements of the file, each read once by PostgreSQL's parser (in ``auto`` mode, a
        plain ``BEGIN`` ... ``COMMIT`` around all of them is the transaction the runner opens anyway:
        left out, so the file commits with its record)."""
        return unwrapped(self._script.statements) if self._auto else self._script.statements

    @property
    def syntax_problem(self) -> SyntaxProblem | None:
        """The syntax error PostgreSQL's parser finds in the file, if any."""
        return self._script.problem

    @property
    def rollback_statements(self) -> tuple[Statement, ...]:
        statements = self._rollback_script.statements
        return unwrapped(statements) if self._auto else statements

    @property
    def rollback_syntax_problem(self) -> SyntaxProblem | None:
        return self._rollback_script.problem

    @property
    def irreversible(self) -> str:
        """Why the migration declares it cannot be rolled back (an ``irreversible`` header, or a
        rollback file holding only comments while the migration does something), or ''."""
        if self.only_tool:
            return f"only {self.only_tool} can run it, so it is not checked"
        if self.no_rollback:
            return self.no_rollback
        if "irreversible" in self.directives:
            return f"declared irreversible: {self.directives['irreversible'] or 'no reason given'}"
        if self.rollback_text is not None and not self.rollback_statements and self.statements:
            return f"declared irreversible: {self.rollback_path.name} holds no statement"
        return ""


@dataclass(frozen=True)
class Migrations(Sequence[Migration]):
    """A folder's migrations in the order they apply (read once per command), the files in it
    that were seen but not read (Python files, which only lint is allowed to pass over), and its
    post-apply hook."""

    folder: Path
    items: tuple[Migration, ...] = ()
    layout: str = "yoyo"
    unread: tuple[Path, ...] = ()
    post_apply: Migration | None = None  # yoyo's post-apply.sql: run after every apply, never recorded

    @overload
    def __getitem__(self, index: int) -> Migration: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Migration, ...]: ...

    def __getitem__(self, index: int | slice) -> Migration | tuple[Migration, ...]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Migration]:
        return iter(self.items)

    @cached_property
    def by_id(self) -> Mapping[str, Migration]:
        return {m.id: m for m in self.items}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.items)
