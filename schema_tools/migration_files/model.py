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


def normalised_checksum(text: str) -> str:
    """sha256 of the content with line endings normalised to LF."""
    canonical = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Migration:
    """One migration: its id, its file and text, its rollback's text (None: no rollback file),
    and the directives of its header (``depends``, ``transactional``, ``lock_timeout``...)."""

    id: str
    path: Path
    text: str
    rollback_text: str | None
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def depends(self) -> tuple[str, ...]:
        return tuple(self.directives.get("depends", "").split())

    @property
    def transactional(self) -> bool:
        return self.directives.get("transactional", "true").lower() == "true"

    @property
    def rollback_path(self) -> Path:
        return self.path.with_name(self.id + ROLLBACK_SUFFIX)

    @cached_property
    def checksum(self) -> str:
        return normalised_checksum(self.text)

    @cached_property
    def _script(self) -> Script:
        return read_script(self.text)

    @cached_property
    def _rollback_script(self) -> Script:
        if self.rollback_text is None:
            return Script(())
        return read_script(self.rollback_text, trees=False)  # most rollback statements are never read as trees

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The statements of the file, each read once by PostgreSQL's parser."""
        return self._script.statements

    @property
    def syntax_problem(self) -> SyntaxProblem | None:
        """The syntax error PostgreSQL's parser finds in the file, if any."""
        return self._script.problem

    @property
    def rollback_statements(self) -> tuple[Statement, ...]:
        return self._rollback_script.statements

    @property
    def rollback_syntax_problem(self) -> SyntaxProblem | None:
        return self._rollback_script.problem

    @property
    def irreversible(self) -> str:
        """Why the migration declares it cannot be rolled back (an ``-- irreversible: why`` header),
        or ''. A rollback file that is empty or holds only comments is a rollback that does nothing:
        checked like any other (it is right when the migration changed no schema), and run."""
        if "irreversible" in self.directives:
            return f"declared irreversible: {self.directives['irreversible'] or 'no reason given'}"
        return ""


@dataclass(frozen=True)
class Migrations(Sequence[Migration]):
    """A folder's migrations in the order they apply (read once per command), and the files in it
    that were seen but not read (Python files, which only lint is allowed to pass over)."""

    folder: Path
    items: tuple[Migration, ...] = ()
    layout: str = "yoyo"
    unread: tuple[Path, ...] = ()

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
