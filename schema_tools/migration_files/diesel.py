"""diesel's layout: a folder per migration, ``<version>_<name>/up.sql`` and ``down.sql``, with an
optional ``metadata.toml``.

The version is what comes before the first ``_`` with its dashes dropped
(``2017-09-23-182408`` is ``20170923182408``), applied in numeric order. A migration runs in a
transaction unless its ``metadata.toml`` says ``run_in_transaction = false``. No placeholders.
"""

from __future__ import annotations

import re
import tomllib

from ..errors import MigrationError
from .model import Migrations
from .source import Source, migration
from .text import read_text

NAME = re.compile(r"^([0-9][0-9-]*)_(.+)$")


def version(folder_name: str) -> int:
    """The version diesel records for a migration folder: its leading digits, dashes dropped."""
    match = NAME.match(folder_name)
    return int(match.group(1).replace("-", "")) if match else -1


def read_layout(source: Source) -> Migrations:
    folders = [n for n in source.names if NAME.match(n) and (source.folder / n / "up.sql").is_file()]
    seen: dict[int, str] = {}
    for name in folders:
        if version(name) in seen:
            raise MigrationError(f"{source.folder / name}: version {version(name)} is also {seen[version(name)]}'s",
                                 hint="give one of them the next free version")
        seen[version(name)] = name
    items = []
    for name in sorted(folders, key=version):
        here = source.folder / name
        transactional = "true"
        meta = here / "metadata.toml"
        if meta.is_file():
            try:
                table = tomllib.loads(read_text(meta))
            except tomllib.TOMLDecodeError as exc:
                raise MigrationError(f"{meta}: not TOML ({exc})", hint="fix or remove it") from None
            run = table.get("run_in_transaction", True)
            if not isinstance(run, bool):
                raise MigrationError(f"{meta}: run_in_transaction must be true or false")
            transactional = "true" if run else "false"
        down = here / "down.sql"
        has_down = down.is_file()
        items.append(migration(source, name, here / "up.sql", read_text(here / "up.sql"),
                               read_text(down) if has_down else None, syntax="none",
                               rollback_file=down, transactional=transactional))
    return Migrations(source.folder, tuple(items), "diesel")
