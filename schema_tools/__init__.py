"""schema_tools: PostgreSQL migrations, schema verification and data-integrity checks.

Everything listed in ``__all__`` is public API; ``ralph`` imports only these names.
"""

from __future__ import annotations

from .config import Settings, load_settings
from .console import OneLineParser, run as run_console
from .catalog import Catalog, read_catalog
from .db import connect, connect_url, database_url, existing_database_url, mask_url
from .findings import Check, Finding, Report, Severity, render
from .errors import (
    ConfigError,
    DatabaseUnavailable,
    EmbeddedError,
    LockTimeout,
    MigrationError,
    SchemaToolsError,
)
from .migration_files import Migration, read_migrations
from .runner import MigrationState, RunResult, migrate, rollback, status
from .verify import verify_database

__all__ = [
    "Catalog",
    "Check",
    "Finding",
    "Report",
    "Severity",
    "existing_database_url",
    "read_catalog",
    "render",
    "verify_database",
    "ConfigError",
    "DatabaseUnavailable",
    "EmbeddedError",
    "LockTimeout",
    "Migration",
    "MigrationError",
    "MigrationState",
    "OneLineParser",
    "RunResult",
    "SchemaToolsError",
    "Settings",
    "connect",
    "connect_url",
    "database_url",
    "load_settings",
    "mask_url",
    "migrate",
    "read_migrations",
    "rollback",
    "run_console",
    "status",
]
