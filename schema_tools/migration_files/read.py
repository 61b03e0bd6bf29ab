"""The front door (``read_folder``): a migrations folder read once into ``Migrations``, by the reader of its layout.

One reader per layout behind one interface (``read_layout(Source)``): the folder is listed once
here and its names handed to the reader of the layout it is in (``layout``, else detected).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import ConfigError, MigrationError
from . import dbmate, diesel, flyway, gomigrate, goose, popx, prisma, sqitch, yoyo
from ..config import LAYOUT_NAMES
from .detect import detect
from .model import Migration, Migrations
from .source import Source

Reader = Callable[[Source], Migrations]
LAYOUTS: dict[str, Reader] = {
    "yoyo": lambda s: yoyo.read_layout(s.folder, s.names, s.allow_python),
    "flyway": flyway.read_layout, "golang-migrate": gomigrate.read_layout, "goose": goose.read_layout,
    "dbmate": dbmate.read_layout, "diesel": diesel.read_layout, "sqitch": sqitch.read_layout,
    "prisma": prisma.read_layout, "popx": popx.read_layout,
}
assert tuple(LAYOUTS) == LAYOUT_NAMES


def read_folder(folder: Path, *, allow_python: bool = False, layout: str | None = None,
                placeholders: Mapping[str, str] | None = None) -> Migrations:
    """Every migration of ``folder`` in the order it applies (the folder listed once), read as
    ``layout`` says (else as the folder's files show). A file the layout cannot run is refused,
    unless ``allow_python`` (only reading: it is listed as unread)."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        raise ConfigError(f"migrations folder {folder} does not exist",
                          hint="pass --migrations DIR or set [tool.schema_tools] migrations in pyproject.toml") from None
    except NotADirectoryError:
        raise ConfigError(f"migrations folder {folder} is not a folder",
                          hint="pass --migrations DIR or set [tool.schema_tools] migrations in pyproject.toml") from None
    except OSError as exc:
        raise ConfigError(f"migrations folder {folder} cannot be read ({exc.strerror})",
                          hint="check its permissions") from None
    if layout is not None and layout not in LAYOUTS:
        raise ConfigError(f"layout {layout!r} is not one schema-tools reads", hint=f"use one of {', '.join(LAYOUTS)}")
    chosen = layout or detect(folder, names)
    return LAYOUTS[chosen](Source(folder, names, allow_python, dict(placeholders or {})))


def read_migration_file(path: Path) -> Migration:
    """One migration file (and its rollback) read alone, outside any folder's history."""
    if not path.name.endswith(".sql"):
        raise MigrationError(f"{path}: not a migration file", hint="give an ID.sql file")
    return yoyo.read_migration(path)
