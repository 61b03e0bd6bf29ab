"""``schema-tools new NAME``: the next migration of a folder and its rollback, in the folder's
layout. One writer per layout behind one interface (``Writer``), as ``read.LAYOUTS`` has one reader
per layout: a new layout adds its writer to ``WRITERS``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .model import Migrations, version_prefix
from .yoyo import id_problem


@dataclass(frozen=True)
class NewMigration:
    """What ``new`` wrote: the migration's id, its file and its rollback file."""

    id: str
    path: Path
    rollback_path: Path


Writer = Callable[[Migrations, str], NewMigration]


def slug(name: str) -> str:
    """``NAME`` as the part of an id after the number: lower case letters, digits and ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60]


def next_id(migrations: Migrations, name: str) -> str:
    """``NNNN_name``: one past the highest number in the folder, as wide as it is (4 digits in a new one)."""
    word = slug(name)
    if not word:
        raise ConfigError(f"{name!r} has no letter or digit to name a migration after",
                          hint="give a name such as add_user_email")
    numbers = [(int(prefix), len(prefix)) for m in migrations if (prefix := version_prefix(m.id))]
    top, width = max(numbers, default=(0, 4))
    return f"{top + 1:0{width}d}_{word}"


def _write_new(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise ConfigError(f"{path} exists already", hint="choose another name, or edit that file") from None


def write_yoyo(migrations: Migrations, name: str) -> NewMigration:
    """yoyo's layout: ``ID.sql`` with ``-- depends:`` on the current head (the last migration in
    the order they apply), and ``ID.rollback.sql``."""
    new = next_id(migrations, name)
    problem = id_problem(new)
    if problem:
        raise ConfigError(f"{new}: {problem}", hint="give a shorter name")
    about = "".join(" " if not ch.isprintable() else ch for ch in name)
    header = [f"-- depends: {migrations[-1].id}"] if len(migrations) else []
    up, down = migrations.folder / f"{new}.sql", migrations.folder / f"{new}.rollback.sql"
    _write_new(up, "\n".join([*header, f"-- {about}", "", ""]))
    try:
        _write_new(down, f"-- undo {up.name} here, statement by statement in reverse order\n"
                         "-- (or, if it cannot be undone, say why in its header: '-- irreversible: why')\n")
    except ConfigError:
        up.unlink()
        raise
    return NewMigration(new, up, down)


WRITERS: dict[str, Writer] = {"yoyo": write_yoyo}


def write_next(migrations: Migrations, name: str) -> NewMigration:
    """The next migration of ``migrations``' folder, written by its layout's writer."""
    writer = WRITERS.get(migrations.layout)
    if writer is None:
        raise ConfigError(f"{migrations.folder}: 'new' cannot write the {migrations.layout} layout yet",
                          hint=f"layouts it writes: {', '.join(WRITERS)}")
    return writer(migrations, name)
