"""Which migrations a run takes: with their dependencies, up to an id, or the ones to roll back."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from ..errors import MigrationError
from ..migration_files.model import Migration


def with_dependencies(migrations: Sequence[Migration], ids: Collection[str]) -> set[str]:
    """``ids`` and everything they depend on, transitively."""
    by_id = {m.id: m for m in migrations}
    wanted, todo = set(), [i for i in ids if i in by_id]
    while todo:
        current = todo.pop()
        if current not in wanted:
            wanted.add(current)
            todo.extend(by_id[current].depends)
    return wanted


def up_to(migrations: Sequence[Migration], to: str) -> list[Migration]:
    """The migrations in apply order, through ``to``."""
    ids = [m.id for m in migrations]
    if to not in ids:
        raise MigrationError(f"--to {to}: no such migration in the folder",
                             hint="give the id of a migration file, without .sql (see schema-tools status)")
    return list(migrations[: ids.index(to) + 1])


def to_roll_back(migrations: Sequence[Migration], done: Mapping[str, object], to: str | None,
                 everything: bool) -> list[Migration]:
    """The applied migrations to roll back, newest first: the last one, all after ``to``, or all."""
    applied = [m for m in migrations if m.id in done]
    if to is not None:
        ids = [m.id for m in applied]
        if to not in ids:
            state = "pending" if any(m.id == to for m in migrations) else "unknown"
            raise MigrationError(f"--to {to}: that migration is {state}, not applied",
                                 hint="give the id of an applied migration (see schema-tools status)")
        return list(reversed(applied[ids.index(to) + 1:]))
    if everything:
        return list(reversed(applied))
    return list(reversed(applied))[:1]
