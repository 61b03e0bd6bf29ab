"""golang-migrate's layout: ``<version>_<title>.up.sql`` with an optional ``.down.sql``.

The version is an unsigned integer (``10`` after ``9``, whatever the digits' count); two files of
one version and direction are refused, as the tool refuses them. The tool sends each file as it is
written, with no transaction of its own: a file that begins or ends transactions itself, or holds
a statement no transaction block takes (CONCURRENTLY...), runs statement by statement; any other
runs in one transaction with its record (what PostgreSQL does with a file sent whole). No
placeholders.
"""

from __future__ import annotations

import re

from ..errors import MigrationError
from .model import Migrations
from .source import Source, migration
from .text import read_text

NAME = re.compile(r"^([0-9]+)_(.*)\.(up|down)\.sql$")


def read_layout(source: Source) -> Migrations:
    ups: dict[int, str] = {}
    downs: dict[int, str] = {}
    for name in source.names:
        match = NAME.match(name)
        if not match:
            continue
        version = int(match.group(1))
        into = ups if match.group(3) == "up" else downs
        if version in into:
            raise MigrationError(f"{source.folder / name}: version {version} is also {into[version]}'s",
                                 hint="give one of them the next free version")
        into[version] = name
    for version, name in downs.items():
        if version not in ups:
            raise MigrationError(f"{source.folder / name}: down migration without an up one",
                                 hint="rename it to match its up migration, or delete it")
    items = []
    for version in sorted(ups):
        up = source.folder / ups[version]
        down = source.folder / downs[version] if version in downs else None
        items.append(migration(source, ups[version][: -len(".up.sql")], up, read_text(up),
                               None if down is None else read_text(down), syntax="none",
                               rollback_file=down or up.with_name(ups[version].replace(".up.sql", ".down.sql")),
                               transactional="auto"))
    return Migrations(source.folder, tuple(items), "golang-migrate")
