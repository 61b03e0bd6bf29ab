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
        from ..sql.script import read_script

        return read_script(self.text)

    @cached_property
    def _rollback_script(self) -> Script:
        from ..sql.script import Script, read_script

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
        """Why the migration declares it cannot be rolled back (an ``irreversible`` header, or a
        rollback file holding only comments while the migration does something), or ''."""
        if "irreversible" in self.directives:
            return f"declared irreversible: {self.directives['irreversible'] or 'no reason given'}"
        if self.rollback_text is not None and not self.rollback_statements and self.statements:
            return f"declared irreversible: {self.rollback_path.name} holds no statement"
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

    def write_next(self, name: str) -> NewMigration:
        """Write the folder's next migration and its rollback, in its layout (``schema-tools new``)."""
        from .new import write_next

        return write_next(self, name)
