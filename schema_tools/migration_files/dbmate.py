"""dbmate's layout: ``<version>_<name>.sql`` with a ``-- migrate:up`` section and an optional
``-- migrate:down`` one.

Versions are the leading digits, applied in numeric order. Each section runs in a transaction
unless its marker line says ``transaction:false``. Each section keeps its lines' numbers in the
file. No placeholders.
"""

from __future__ import annotations

import re

from ..errors import MigrationError
from .model import Migrations
from .source import Source, lines_of, migration, read_lines, section

NAME = re.compile(r"^([0-9]+)(_.*)?\.sql$")
MARKER = re.compile(r"^--\s*migrate:(up|down)\b(.*)$")


def _options(text: str, where: str) -> dict[str, str]:
    options = {}
    for word in text.split():
        key, sep, value = word.partition(":")
        if not sep:
            raise MigrationError(f"{where}: dbmate option {word!r} is not key:value", hint="write transaction:false")
        options[key] = value
    return options


def read_layout(source: Source) -> Migrations:
    items = []
    seen: dict[int, str] = {}
    for name in sorted((n for n in source.names if NAME.match(n)), key=lambda n: (int(NAME.match(n).group(1)), n)):  # type: ignore[union-attr]
        version = int(NAME.match(name).group(1))  # type: ignore[union-attr]
        if version in seen:
            raise MigrationError(f"{source.folder / name}: version {version} is also {seen[version]}'s",
                                 hint="give one of them the next free version")
        seen[version] = name
        path = source.folder / name
        lines = read_lines(path)
        sections: dict[str, list[int]] = {}
        options: dict[str, dict[str, str]] = {}
        current: list[int] | None = None
        for i, line in enumerate(lines):
            match = MARKER.match(line.strip())
            if match:
                current = sections.setdefault(match.group(1), [])
                options[match.group(1)] = _options(match.group(2), f"{path}:{i + 1}")
            elif current is not None:
                current.append(i)
        if "up" not in sections:
            raise MigrationError(f"{path}: no '-- migrate:up' line", hint="dbmate needs one before the migration's SQL")
        up_tx = options["up"].get("transaction", "true").lower()
        down_tx = options.get("down", {}).get("transaction", "true").lower()
        if {up_tx, down_tx} - {"true", "false"}:
            raise MigrationError(f"{path}: transaction:{up_tx if up_tx not in ('true', 'false') else down_tx} "
                                 "must be true or false")
        transactional = "false" if "false" in (up_tx, down_tx) else "true"
        items.append(migration(source, name[: -len(".sql")], path, section(lines, sections["up"]),
                               section(lines, sections["down"]) if "down" in sections else None, syntax="none",
                               rollback_file=path, transactional=transactional,
                               checksum_of=lines_of(lines, sections["up"])))
    return Migrations(source.folder, tuple(items), "dbmate")
