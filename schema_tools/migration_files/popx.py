"""ory popx's layout: ``<version>_<name>[.<dialect>][.autocommit].up.sql`` and ``.down.sql``,
several dialects side by side.

For each version the ``postgres`` variant is read, else the one without a dialect; the other
dialects' files (cockroach, mysql, sqlite3...) are not for PostgreSQL and are passed over. Versions
sort as integers. A migration runs in a transaction unless its name says ``.autocommit``. A fizz
migration (``.fizz``) only pop runs. Placeholders: Go templates, ``{{ index .Options "Name" }}``.
"""

from __future__ import annotations

import re

from ..errors import MigrationError
from .model import Migration, Migrations
from .source import Source, migration
from .text import read_text

NAME = re.compile(r"^([0-9]+)_([^.]*)((?:\.[A-Za-z0-9_]+)*)\.(up|down)\.(sql|fizz)$")
POSTGRES = ("postgres", "postgresql", "pg")
FLAGS = ("autocommit",)


def read_layout(source: Source) -> Migrations:
    chosen: dict[tuple[int, str], tuple[int, str, bool]] = {}  # (version, direction) -> (rank, name, autocommit)
    names: dict[int, str] = {}
    for name in source.names:
        match = NAME.match(name)
        if not match:
            continue
        version, slug, dotted, direction, ext = match.groups()
        parts = [p for p in dotted.split(".") if p]
        dialects = [p for p in parts if p not in FLAGS]
        if len(dialects) > 1:
            raise MigrationError(f"{source.folder / name}: two dialects in one name",
                                 hint="name it <version>_<name>.<dialect>.up.sql")
        rank = 2 if dialects and dialects[0].lower() in POSTGRES else 1 if not dialects else 0
        if not rank:
            continue  # another database's variant
        key = (int(version), direction)
        if key in chosen and chosen[key][0] == rank:
            raise MigrationError(f"{source.folder / name}: version {version} is also {chosen[key][1]}'s",
                                 hint="give one of them the next free version")
        if key not in chosen or chosen[key][0] < rank:
            chosen[key] = (rank, name, "autocommit" in parts)
        names.setdefault(int(version), f"{version}_{slug}")
    items: list[Migration] = []
    for version in sorted(v for v, d in chosen if d == "up"):
        _, up_name, autocommit = chosen[(version, "up")]
        up = source.folder / up_name
        if up_name.endswith(".fizz"):
            items.append(Migration(names[version], up, "", None, only_tool="pop (a fizz migration)"))
            continue
        down_name = chosen.get((version, "down"), (0, "", False))[1]
        down = source.folder / down_name if down_name.endswith(".sql") else None
        items.append(migration(source, names[version], up, read_text(up), None if down is None else read_text(down),
                               syntax="go", rollback_file=down or source.folder / f"{names[version]}.down.sql",
                               transactional="false" if autocommit else "true"))
    return Migrations(source.folder, tuple(items), "popx")
