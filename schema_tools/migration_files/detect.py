"""Which tool's layout a migrations folder is in, from its one listing: each layout has marks no
other's files bear. None found: yoyo's (ours). Marks of two layouts: ask (exit 2, naming them)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..config import LAYOUT_NAMES
from ..errors import ConfigError

FLYWAY = re.compile(r"^[VUR][0-9._]*__.+\.(sql|java|class|kt)$")
UP_DOWN = re.compile(r"^[0-9]+_[^.]*((?:\.[A-Za-z0-9_]+)*)\.(up|down)\.(sql|fizz)$")
NUMBERED_SQL = re.compile(r"^[0-9]+_.+\.sql$")
HEAD = 16384  # the first bytes of a file: a layout's marker lines come before the SQL


def _folders(folder: Path, names: list[str]) -> set[str]:
    """The names in ``folder``'s listing that are folders: an ``.sql`` name is taken for a file
    (no stat per migration file; the folder is not listed again)."""
    return {n for n in names if not n.endswith(".sql") and (folder / n).is_dir()}


def _marks(folder: Path, names: list[str]) -> list[str]:
    found: list[str] = []
    if "sqitch.plan" in names:
        found.append("sqitch")
    folders = _folders(folder, names)  # only a folder may hold migration.sql or up.sql
    if "migration_lock.toml" in names or any((folder / n / "migration.sql").is_file() for n in names if n in folders):
        found.append("prisma")
    if any((folder / n / "up.sql").is_file() for n in names if n[:1].isdigit() and n in folders):
        found.append("diesel")
    if any(FLYWAY.match(n) for n in names):
        found.append("flyway")
    up_down = [m.group(1) for n in names if (m := UP_DOWN.match(n))]
    if up_down:
        popx = any(dotted for dotted in up_down) or any(n.endswith(".fizz") for n in names)
        found.append("popx" if popx else "golang-migrate")
    numbered = [n for n in names if NUMBERED_SQL.match(n) and not UP_DOWN.match(n) and not n.endswith(".rollback.sql")]
    if any(n.endswith(".go") and n[:1].isdigit() for n in names):
        found.append("goose")
    for name in numbered[:20]:
        head = _head(folder / name)
        if "+goose" in head and re.search(r"^--\s*\+goose\s+up", head, re.I | re.M):
            found.append("goose")
            break
        if re.search(r"^--\s*migrate:up", head, re.M):
            found.append("dbmate")
            break
    return sorted(set(found), key=LAYOUT_NAMES.index)


def _head(path: Path) -> str:
    """The first bytes of a regular file as text (anything else, or unreadable: ""; the reader
    refuses such a file in its own words)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        return os.read(fd, HEAD).decode("utf-8", "replace") if stat.S_ISREG(os.fstat(fd).st_mode) else ""
    finally:
        os.close(fd)


def detect(folder: Path, names: list[str]) -> str:
    """The layout of ``folder`` (``names``: its listing); yoyo when nothing marks another."""
    found = _marks(folder, names)
    if len(found) > 1:
        raise ConfigError(f"{folder} looks like migrations of several tools: {', '.join(found)}",
                          hint="say which with --layout NAME, or layout = \"NAME\" in [tool.schema_tools]")
    return found[0] if found else "yoyo"
