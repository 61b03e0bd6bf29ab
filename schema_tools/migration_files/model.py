"""A migration as its files say it, and the ordered, immutable set a folder holds: what every
verb is handed once its command has read the folder (no verb reads it again below)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:  # the parser (pglast) loads when a statement is first asked for: status reads none
    from ..sql.script import Script, SyntaxProblem
    from ..sql.statement import Statement
    from .new import NewMigration

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
        from ..sql.script import read_script

        return read_script(self.text)

    @cached_property
    def _rollback_script(self) -> Script:
        from ..sql.script import Script, read_script

        if self.rollback_text is None:
            return Script(())
        return read_script(self.rollback_text, trees=False)  # most rollback statements are never read as trees

    def forget_statements(self) -> None:
        """Drop the parsed statements of the file (read again if asked): a history's trees need
        not all stay in memory once each has been read (lint folds them one file at a time)."""
        self.__dict__.pop("_script", None)

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
        """The syntax error in the rollback file, if any (found without reading its statements
        when they were not read: lint asks only this of a rollback)."""
        if "_rollback_script" in self.__dict__ or self.rollback_text is None:
            return self._rollback_script.problem
        from ..sql.script import syntax_problem

        return syntax_problem(self.rollback_text)

    @property
    def irreversible(self) -> str:
        """Why the migration declares it cannot be rolled back (an ``-- irreversible: why`` header,
        a layout without rollbacks, a migration only its own tool runs), or ''. A rollback file
        that is empty or holds only comments is a rollback that does nothing: checked like any
        other (it is right when the migration changed no schema), and run."""
        if self.only_tool:
            return f"only {self.only_tool} can run it, so it is not checked"
        if self.no_rollback:
            return self.no_rollback
        if "irreversible" in self.directives:
            return f"declared irreversible: {self.directives['irreversible'] or 'no reason given'}"
        return ""


def version_prefix(migration_id: str) -> str:
    """The number a team puts first in an id (``0002`` of ``0002_add_plan``); '' when none."""
    return migration_id[: len(migration_id) - len(migration_id.lstrip("0123456789"))]


def same_version(migrations: Sequence[Migration]) -> list[tuple[Migration, ...]]:
    """Migrations of one folder whose ids start with the same number (``0002_a``, ``0002_b``): two
    branches that each took the next number. Each group in id order, the groups by number."""
    groups: dict[tuple[Path, int, str], list[Migration]] = {}
    for m in migrations:
        prefix = version_prefix(m.id)
        if prefix:  # the version: the id up to its first '_' (0001b_x is not 0001_x; 02_x is 0002_x)
            rest = m.id[len(prefix):].partition("_")[0]
            groups.setdefault((m.path.parent, int(prefix), rest), []).append(m)
    return [tuple(sorted(g, key=lambda m: m.id)) for _, g in sorted(groups.items()) if len(g) > 1]


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

    def write_next(self, name: str) -> NewMigration:
        """Write the folder's next migration and its rollback, in its layout (``schema-tools new``)."""
        from .new import write_next

        return write_next(self, name)
