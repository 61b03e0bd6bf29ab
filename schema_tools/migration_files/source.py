"""What every layout's reader is handed (``Source``) and the small pieces they share: a file's
sections cut out with their line numbers kept, versions compared by their numbers, a
migration built from a file as written and as its placeholders make it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MigrationError
from .model import Migration
from .placeholders import substitute
from .text import read_text


@dataclass(frozen=True)
class Source:
    """A folder, its one listing (sorted names), and how to read it."""

    folder: Path
    names: list[str]
    allow_python: bool = False
    placeholders: Mapping[str, str] = field(default_factory=dict)


def section(lines: list[str], keep: Iterable[int]) -> str:
    """The lines at indexes ``keep``, every other line left empty: a section of a file whose
    statements keep the line numbers they have in the file."""
    wanted = set(keep)
    return "".join(line if i in wanted else "\n" if line.endswith("\n") else "" for i, line in enumerate(lines))


def numeric_version(text: str, path: Path, what: str) -> int:
    """A version made of digits, as an integer (so 10 sorts after 9, and 010 equals 10)."""
    if not text.isdigit():
        raise MigrationError(f"{path}: {what} {text!r} is not a number", hint="name the file after its version number")
    return int(text)


def unique(keys: Iterable[tuple[object, Path]], what: str) -> None:
    """Two files with one version: the tool itself refuses that folder, and so do we."""
    seen: dict[object, Path] = {}
    for key, path in keys:
        if key in seen:
            raise MigrationError(f"{path}: {what} {key} is also {seen[key].name}'s",
                                 hint="give one of them the next free version")
        seen[key] = path


def migration(source: Source, mid: str, path: Path, text: str, rollback: str | None, *, syntax: str,
              rollback_file: Path | None = None, transactional: str = "true", only_tool: str = "",
              repeatable: bool = False, no_rollback: str = "", check_file: Path | None = None,
              check_text: str | None = None, checksum_of: str | None = None) -> Migration:
    """A migration whose text (and rollback) have their placeholders filled in ``syntax``; its
    checksum is of its text as written (a changed value is not an edit), or of ``checksum_of``
    (a section's own lines: an edit elsewhere in its file is not an edit of it)."""
    values = source.placeholders
    filled = substitute(text, path, syntax, values)
    back = None if rollback is None else substitute(rollback, rollback_file or path, syntax, values)
    check = None if check_text is None else substitute(check_text, check_file or path, syntax, values)
    return Migration(mid, path, filled, back, {"transactional": transactional}, rollback_file=rollback_file,
                     written=checksum_of if checksum_of is not None else None if filled == text else text, only_tool=only_tool, repeatable=repeatable,
                     no_rollback=no_rollback, check_file=check_file, check_text=check)


def lines_of(lines: list[str], keep: Iterable[int]) -> str:
    """The lines at indexes ``keep`` alone, in order (what a section's checksum is of)."""
    return "".join(lines[i] for i in sorted(set(keep)))


def read_lines(path: Path) -> list[str]:
    """A file's lines with their endings (so a section keeps them)."""
    return read_text(path).splitlines(keepends=True)
