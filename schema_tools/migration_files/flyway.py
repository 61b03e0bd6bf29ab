"""Flyway's layout: ``V<version>__<description>.sql`` versioned migrations, ``U<version>__...sql``
their undo, ``R__<description>.sql`` repeatables, in the folder and its subfolders (Flyway scans a
location recursively).

Versions compare numerically part by part, ``.`` and ``_`` separating parts (``1.10`` after
``1.2``; ``1.0`` is ``1``); repeatables apply after every versioned one, by description, and again
whenever their checksum changes. A migration runs in a transaction unless PostgreSQL takes one of
its statements only outside one (Flyway's own rule), or its ``<file>.conf`` says
``executeInTransaction=false``. Java migrations (``V3__Name.java`` or ``.class``) only Flyway runs.
Placeholders: ``${name}``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import MigrationError
from .model import Migration, Migrations
from .source import Source, migration
from .text import read_text

NAME = re.compile(r"^([VUR])([0-9][0-9._]*)?__(.*)\.(sql|java|class|kt)$")
SYNTAX = "flyway"


def version_key(version: str) -> tuple[int, ...]:
    """``1_10`` / ``1.10`` -> (1, 10); trailing zero parts dropped, so ``1.0`` equals ``1``."""
    parts = [int(p) for p in re.split(r"[._]", version) if p != ""]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def files(folder: Path, names: list[str]) -> list[Path]:
    """The folder's files and those of its subfolders (not hidden ones), the folder listed once."""
    found = [folder / n for n in names if (folder / n).is_file()]
    for sub in (n for n in names if not n.startswith(".") and (folder / n).is_dir()):
        for root, dirs, inner in os.walk(folder / sub):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [Path(root) / n for n in sorted(inner)]
    return found


def _conf(path: Path) -> str:
    """``executeInTransaction`` from the script's own ``.conf`` file: "false", else "auto"."""
    conf = path.with_name(path.name + ".conf")
    if not conf.is_file():
        return "auto"
    for line in read_text(conf).splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executeInTransaction" and value.strip().lower() == "false":
            return "false"
    return "auto"


def read_layout(source: Source) -> Migrations:
    versioned: dict[tuple[int, ...], Path] = {}
    undo: dict[tuple[int, ...], Path] = {}
    repeatable: list[Path] = []
    for path in files(source.folder, source.names):
        match = NAME.match(path.name)
        if not match:
            continue
        kind, version, _, ext = match.groups()
        if kind == "R":
            if version:
                raise MigrationError(f"{path}: a repeatable migration has no version", hint="name it R__description.sql")
            repeatable.append(path)
            continue
        if not version:
            raise MigrationError(f"{path}: a {kind} migration needs a version", hint=f"name it {kind}1__description.{ext}")
        key = version_key(version)
        into = undo if kind == "U" else versioned
        if key in into:
            raise MigrationError(f"{path}: version {version} is also {into[key].name}'s",
                                 hint="give one of them the next free version")
        into[key] = path
    for key, path in undo.items():
        if key not in versioned:
            raise MigrationError(f"{path}: undo migration without a versioned one", hint="rename it or delete it")
    items: list[Migration] = []
    for key in sorted(versioned):
        path = versioned[key]
        mid = path.name.rsplit(".", 1)[0]
        if not path.name.endswith(".sql"):
            items.append(Migration(mid, path, "", None, only_tool="Flyway (a Java migration)"))
            continue
        down = undo.get(key)
        items.append(migration(source, mid, path, read_text(path), None if down is None else read_text(down),
                               syntax=SYNTAX, rollback_file=down or path.with_name("U" + path.name[1:]),
                               transactional=_conf(path)))
    for path in sorted(repeatable, key=lambda p: NAME.match(p.name).group(3)):  # type: ignore[union-attr]
        mid = path.name.rsplit(".", 1)[0]
        if not path.name.endswith(".sql"):
            items.append(Migration(mid, path, "", None, only_tool="Flyway (a Java migration)", repeatable=True))
            continue
        items.append(migration(source, mid, path, read_text(path), None, syntax=SYNTAX, repeatable=True,
                               transactional=_conf(path), no_rollback="Flyway repeatable migrations have no undo"))
    return Migrations(source.folder, tuple(items), "flyway")
