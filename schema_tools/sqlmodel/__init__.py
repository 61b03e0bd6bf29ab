"""The schema the migration files declare, read with PostgreSQL's own parser, no database needed."""

from __future__ import annotations

from collections.abc import Iterable

from ..migration_files.model import Migration
from .fold import DeclaredSchema
from .parse import Parsed, parse_migration

__all__ = ["DeclaredSchema", "Parsed", "declare", "parse_migration"]


def declare(migrations: Iterable[Migration]) -> DeclaredSchema:
    """Fold every migration, in order, into the declared schema."""
    schema = DeclaredSchema()
    for m in migrations:
        for p in parse_migration(m):
            schema.apply(p)
    return schema
