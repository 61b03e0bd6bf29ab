"""goose's layout: ``<version>_<name>.sql`` holding ``-- +goose Up`` and ``-- +goose Down``
sections, and ``<version>_<name>.go`` migrations, which only goose runs.

Versions are integers (sequential or timestamps), applied in their numeric order. A file runs in
a transaction unless it says ``-- +goose NO TRANSACTION``. goose sends a ``StatementBegin`` /
``StatementEnd`` block as one statement and splits the rest at semicolons that end a line;
PostgreSQL's own parser, which splits every file here, reads the same statements from a file
goose can run. Each section keeps its lines' numbers in the file. No placeholders (goose's
``ENVSUB`` is not read: a file that turns it on is refused).
"""

from __future__ import annotations

import re

from ..errors import MigrationError
from .model import Migration, Migrations
from .source import Source, lines_of, migration, read_lines, section

NAME = re.compile(r"^([0-9]+)_(.+)\.(sql|go)$")
ANNOTATION = re.compile(r"^--\s*\+goose\s+(.*?)\s*$")


def split(lines: list[str], path: str) -> tuple[list[int], list[int] | None, bool]:
    """The Up section's line indexes, the Down section's (None: no Down), and NO TRANSACTION."""
    up: list[int] = []
    down: list[int] | None = None
    current: list[int] | None = None
    no_transaction = False
    for i, line in enumerate(lines):
        match = ANNOTATION.match(line.strip())
        if not match:
            if current is not None:
                current.append(i)
            continue
        word = match.group(1).upper()
        if word == "UP":
            current = up
        elif word == "DOWN":
            down = []
            current = down
        elif word == "NO TRANSACTION":
            no_transaction = True
        elif word.startswith("ENVSUB") and word != "ENVSUB OFF":
            raise MigrationError(f"{path}:{i + 1}: goose ENVSUB is not supported",
                                 hint="write the values into the file, or run this migration with goose")
        elif word not in ("STATEMENTBEGIN", "STATEMENTEND"):
            raise MigrationError(f"{path}:{i + 1}: unknown goose annotation {match.group(1)!r}",
                                 hint="goose knows Up, Down, StatementBegin, StatementEnd and NO TRANSACTION")
    if current is None:
        raise MigrationError(f"{path}: no '-- +goose Up' annotation", hint="goose needs one before the migration's SQL")
    return up, down, no_transaction


def read_layout(source: Source) -> Migrations:
    found: dict[int, str] = {}
    for name in source.names:
        match = NAME.match(name)
        if not match or name.endswith("_test.go"):
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{source.folder / name}: version {version} is also {found[version]}'s",
                                 hint="give one of them the next free version")
        found[version] = name
    items: list[Migration] = []
    for version in sorted(found):
        name = found[version]
        path = source.folder / name
        mid = name.rsplit(".", 1)[0]
        if name.endswith(".go"):
            items.append(Migration(mid, path, "", None, only_tool="goose (a Go migration)"))
            continue
        lines = read_lines(path)
        up, down, no_transaction = split(lines, str(path))
        items.append(migration(source, mid, path, section(lines, up), None if down is None else section(lines, down),
                               syntax="none", rollback_file=path, transactional="false" if no_transaction else "true",
                               checksum_of=lines_of(lines, up)))
    return Migrations(source.folder, tuple(items), "goose")
