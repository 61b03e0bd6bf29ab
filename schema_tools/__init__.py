"""schema_tools: PostgreSQL migrations, schema verification and data-integrity checks.

Everything listed in ``__all__`` is public API; ``ralph`` imports only these names. They are
loaded on first use, so a command that needs no database never imports psycopg.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Settings": "config", "load_settings": "config",
    "OneLineParser": "console", "CommandParser": "console", "run_console": "console",
    "Catalog": "catalog", "read_catalog": "catalog", "inventory": "catalog",
    "connect": "db", "connect_url": "db", "database_url": "db", "existing_database_url": "db",
    "mask_url": "urls",
    "Check": "findings", "Finding": "findings", "Report": "findings", "Severity": "findings", "render": "findings",
    "ConfigError": "errors", "DatabaseUnavailable": "errors", "EmbeddedError": "errors", "LockTimeout": "errors",
    "MigrationError": "errors", "SchemaToolsError": "errors", "ValidationFailed": "errors",
    "Migration": "migration_files", "read_migrations": "migration_files",
    "MigrationState": "runner", "RunResult": "runner", "migrate": "runner", "rollback": "runner", "status": "runner",
    "verify_database": "verify",
    "lint_files": "lint", "validate_history": "validate", "scratch_database": "reversible",
    "migration_lock": "lock", "lock_key": "lock",
    "TableExpectation": "expect", "tables_from": "expect", "verify_catalog": "expect", "load_toml": "expect",
    "in_list": "sqltext", "declare": "sqlmodel",
}
# Public names that differ from the module's own (a submodule shares the function's name).
_RENAMED = {"run_console": "run", "lint_files": "lint", "validate_history": "validate", "verify_catalog": "verify"}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'schema_tools' has no attribute {name!r}")
    module = importlib.import_module(f".{_WHERE[name]}", __name__)
    value = getattr(module, _RENAMED.get(name, name))
    globals()[name] = value
    return value
