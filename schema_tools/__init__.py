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
    "connect": "server.connect", "connect_url": "server.connect", "database_url": "server.connect", "existing_database_url": "server.connect",
    "mask_url": "server.urls",
    "Check": "findings", "Finding": "findings", "Report": "findings", "Severity": "findings", "render": "findings",
    "ConfigError": "errors", "DatabaseUnavailable": "errors", "EmbeddedError": "errors", "LockTimeout": "errors",
    "MigrationError": "errors", "SchemaToolsError": "errors", "ValidationFailed": "errors",
    "Migration": "engine.files", "read_migrations": "engine.files",
    "MigrationState": "engine.runner", "RunResult": "engine.runner", "migrate": "engine.runner", "rollback": "engine.runner", "status": "engine.runner",
    "verify_database": "verify",
    "lint_files": "lint", "validate_history": "engine.validate", "scratch_database": "server.scratch",
    "migration_lock": "engine.lock", "lock_key": "engine.lock",
    "TableExpectation": "expect", "tables_from": "expect", "verify_catalog": "expect", "load_toml": "expect",
    "in_list": "sqltext.meaning", "declare": "sqlmodel",
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
