"""The schema the migration files declare, built with sqlglot, no database needed."""

from .fold import DeclaredSchema
from .parse import Parsed, parse_migration, parse_statement

__all__ = ["DeclaredSchema", "Parsed", "declare", "parse_migration", "parse_statement"]


def declare(migrations: list) -> DeclaredSchema:  # type: ignore[type-arg]
    """Fold every migration, in order, into the declared schema."""
    schema = DeclaredSchema()
    for m in migrations:
        for p in parse_migration(m):
            schema.apply(p)
    return schema
