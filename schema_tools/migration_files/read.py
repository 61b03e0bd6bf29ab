"""The front door (``read_folder``): a migrations folder read once into ``Migrations``, by the reader of its layout.

One reader per layout behind one interface (``read_layout(folder, names, allow_python)``): the
folder is listed once here and its names handed to the reader. yoyo's is the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, MigrationError
from . import yoyo
from .model import Migration, Migrations

Reader = Callable[[Path, list[str], bool], Migrations]
LAYOUTS: dict[str, Reader] = {"yoyo": yoyo.read_layout}


def read_folder(folder: Path, *, allow_python: bool = False) -> Migrations:
    """Every migration of ``folder`` in the order it applies (the folder listed once). A file the
    layout cannot run is refused, unless ``allow_python`` (only reading: it is listed as unread)."""
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
    return LAYOUTS["yoyo"](folder, names, allow_python)


def read_migration_file(path: Path) -> Migration:
    """One migration file (and its rollback) read alone, outside any folder's history."""
    if not path.name.endswith(".sql"):
        raise MigrationError(f"{path}: not a migration file", hint="give an ID.sql file")
    return yoyo.read_migration(path)
