"""yoyo's layout: ``ID.sql`` with an optional ``ID.rollback.sql``, ordered by the ``-- depends:``
lines of their headers (ties broken by id, as yoyo does).

Leading comment lines may carry directives: yoyo's ``depends`` and ``transactional``, and ours,
``lock_timeout``, ``statement_timeout`` and ``irreversible: why`` (yoyo reads ours as plain
comments). The folder is listed once; a Python file is refused (yoyo would run it as a
migration) unless the caller only reads (lint), which notes it instead. ``post-apply.sql`` is
yoyo's hook, run after every apply that applied something: not a migration.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ..config import duration_problem
from ..errors import MigrationError
from .model import ROLLBACK_SUFFIX, Migration, Migrations
from .text import read_text

DIRECTIVE = re.compile(r"^\s*--\s*([a-z_]+)\s*:\s*(.*?)\s*$")
KNOWN_DIRECTIVES = ("depends", "transactional", "lock_timeout", "statement_timeout", "irreversible")


def parse_directives(text: str, source: str) -> dict[str, str]:
    """Directives from the leading comment block; unknown ``-- word:`` lines are comments."""
    directives: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break
        match = DIRECTIVE.match(line)
        if match and match.group(1) in KNOWN_DIRECTIVES:
            name, value = match.groups()
            directives[name] = f"{directives[name]} {value}".strip() if name in directives else value
    transactional = directives.get("transactional", "true").lower()
    if transactional not in ("true", "false"):
        raise MigrationError(
            f"{source}: '-- transactional: {directives['transactional']}' must be true or false",
        )
    for name in ("lock_timeout", "statement_timeout"):
        problem = duration_problem(directives[name]) if name in directives else None
        if problem:
            raise MigrationError(
                f"{source}: '-- {name}: {directives[name]}' {problem}",
                hint="write a whole number with a unit: ms, s, min, h or d (for example '30s'), at most 24 days",
            )
    return directives


def yoyo_hash(migration_id: str) -> str:
    """The key yoyo stores for a migration: sha256 of its id (not of its content)."""
    return hashlib.sha256(migration_id.encode("utf-8")).hexdigest()


def read_migration(path: Path, has_rollback: bool | None = None) -> Migration:
    """Read one ``ID.sql`` file and its rollback, validating the header (``has_rollback``: known
    from the folder's listing, else looked up)."""
    migration_id = path.name[: -len(".sql")]
    text = read_text(path)
    rollback = path.with_name(migration_id + ROLLBACK_SUFFIX)
    if has_rollback is None:
        has_rollback = rollback.exists() or rollback.is_symlink()
    rollback_text = read_text(rollback) if has_rollback else None
    directives = parse_directives(text, str(path))
    return Migration(migration_id, path, text, rollback_text, directives)


def order(migrations: list[Migration]) -> list[Migration]:
    """Dependency order, ties broken by id (as yoyo orders them)."""
    by_id = {m.id: m for m in migrations}
    for m in migrations:
        for dep in m.depends:
            if dep not in by_id:
                raise MigrationError(
                    f"{m.path}: depends on {dep!r}, which is not a migration in {m.path.parent}",
                    migration_id=m.id,
                    hint="fix the '-- depends:' line or add the missing file",
                )
    done: set[str] = set()
    result: list[Migration] = []
    remaining = sorted(by_id)
    while remaining:
        ready = next((i for i in remaining if all(d in done for d in by_id[i].depends)), None)
        if ready is None:
            raise MigrationError(
                f"dependency cycle among migrations: {', '.join(remaining)}",
                hint="remove one of the '-- depends:' lines that close the cycle",
            )
        remaining.remove(ready)
        done.add(ready)
        result.append(by_id[ready])
    return result


POST_APPLY = "post-apply.sql"
"""yoyo's post-apply hook: run after every apply that applied something, never a migration."""

NAME_MAX = 255
"""The longest file name (in bytes) most file systems take: a migration's rollback file must fit."""


def id_problem(migration_id: str) -> str:
    """Why ``migration_id`` (a file name without .sql) cannot be a migration's id ("": it can)."""
    if not migration_id:
        return "a migration file needs an id before .sql"
    if migration_id != migration_id.strip() or any(not c.isprintable() for c in migration_id):
        return f"the id {migration_id!r} has spaces at an end or characters that do not print"
    rollback = len((migration_id + ROLLBACK_SUFFIX).encode())
    if rollback > NAME_MAX:
        return (f"the id is too long: its rollback file's name would be {rollback} bytes, and file systems "
                f"take {NAME_MAX}")
    return ""


def read_layout(folder: Path, names: list[str], allow_python: bool = False) -> Migrations:
    """All migrations of a folder (``names``: its one listing, sorted), in the order they apply.
    A .py file is refused (yoyo would run it as a migration) unless ``allow_python`` (static
    analysis), which lists it as not read."""
    python = [folder / n for n in names if n.endswith(".py") and not n.startswith("_")]  # yoyo runs .x.py too
    if python and not allow_python:
        raise MigrationError(f"{python[0]}: Python migrations are not supported",
                             hint="write the migration as SQL (ID.sql with ID.rollback.sql)")
    odd = [n for n in names if (suffix := os.path.splitext(n)[1]) != ".sql" and suffix.lower() == ".sql"]
    if odd:
        raise MigrationError(f"{folder / odd[0]}: migrations end in .sql (lower case)",
                             hint=f"rename it to {Path(odd[0]).stem}.sql, or move it out of the folder")
    files = [n for n in names if n.endswith(".sql") and not n.endswith(ROLLBACK_SUFFIX) and n != POST_APPLY]
    for name in files:
        problem = id_problem(name[: -len(".sql")])
        if problem:
            raise MigrationError(f"{folder / name}: {problem}", hint="rename the file (ID.sql, e.g. 0007_add_index.sql)")
    ids = {n[: -len(".sql")] for n in files} | ({POST_APPLY[: -len(".sql")]} if POST_APPLY in names else set())
    rollbacks = {n[: -len(ROLLBACK_SUFFIX)] for n in names if n.endswith(ROLLBACK_SUFFIX)}
    for orphan in sorted(rollbacks - ids):
        raise MigrationError(f"{folder / (orphan + ROLLBACK_SUFFIX)}: rollback file without a migration",
                             hint="rename it to match its migration, or delete it")
    migrations = [read_migration(folder / n, n[: -len(".sql")] in rollbacks) for n in files]
    hook = read_migration(folder / POST_APPLY, False) if POST_APPLY in names else None
    return Migrations(folder, tuple(order(migrations)), "yoyo", tuple(python), hook)
