"""Findings about a migrations folder as a whole, shared by lint and validate: two migrations
that took the same number (parallel branches), and a folder with none at all."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .model import Finding, Severity

DUPLICATE_VERSION = "duplicate-version"
EMPTY_FOLDER = "empty-folder"
HELP = {DUPLICATE_VERSION: "two migrations start with the same number (parallel branches)",
        EMPTY_FOLDER: "the migrations folder holds no migration"}


def duplicate_version(files: Sequence[Path]) -> Finding:
    """One finding for ``files`` (migration files of one folder that share a number), on the last."""
    names = [f.name for f in files]
    prefix = names[-1].partition("_")[0]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return Finding(DUPLICATE_VERSION, f"{listed} share the version prefix {prefix} (two branches each took the next "
                   "number?)", Severity.ERROR, files[-1].stem, "renumber the one merged last after the newest "
                   "migration and point its '-- depends:' at the other; if it is applied somewhere already, "
                   "rename with care (the id is what the history records)", str(files[-1]), 1, 1)


def empty_folder(folder: Path) -> Finding:
    return Finding(EMPTY_FOLDER, f"{folder} holds no migration (nothing to check or apply)", Severity.WARNING,
                   str(folder), "check --migrations DIR or [tool.schema_tools] migrations in pyproject.toml",
                   str(folder))
