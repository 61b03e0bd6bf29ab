"""schema_tools: PostgreSQL migrations, schema verification and data-integrity checks.

The public API, typed: the verbs of :mod:`schema_tools.commands` (each ``verb(settings, ...)``,
some with a ``verb_on(conn, ...)`` form for a connection the caller owns), the settings, the
errors, and the data the verbs take and return. ``ralph`` and the CLI use nothing else.

mypy and readers see the imports below; at run time each name is imported on first use, so a
command pays only for what it uses (`schema-tools status` starts at about psycopg's own cost)
and importing this package loads neither psycopg nor sqlglot. ``tests/test_api.py`` keeps the
imports, the table and ``__all__`` equal.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog.model import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
    from .commands import (baseline, changes_on, check_reversible, connect, database_url, db_start, db_status, db_stop,
                           declared_schema, drift, exclusive, existing_database_url, generate, integrity, lint,
                           load_expectations, mark_on, migrate, migrate_on, plan, preflight, preflight_on,
                           read_migrations, read_schema, read_schema_on, repair, rollback, rollback_on, schema_differences, schema_fingerprint_on, schema_inventory_on, scratch_database, scratch_login, status, status_on,
                           validate, validate_on, verify, verify_catalog, write_generated)
    from .config import Settings, load_settings
    from .console import CommandParser, OneLineParser, run_console
    from .migration_files.model import Migration
    from .engine.model import MigrationState, PlannedMigration, PlannedStatement, RunResult
    from .errors import (ConfigError, DataLossRefused, DatabaseUnavailable, EmbeddedError, GenerateRefused, LockTimeout,
                         MigrationError, MigrationFailed, SchemaToolsError, ValidationFailed, VerificationFailed)
    from .expect.model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation
    from .expect.parse import tables_from
    from .findings import FORMATS, Check, Finding, Report, Severity, render
    from .generator import Generated, GeneratedFile
    from .server.model import DatabaseMark, ScratchLogin
    from .server.urls import mask_url, password_of, redact, secret_files
    from .tomlspec import Doc as TomlDoc
    from .tomlspec import Field, Invalid, Kinds, read_toml

_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("catalog.model", ("Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table", "Unique")),
    ("commands", ("baseline", "changes_on", "check_reversible", "connect", "database_url", "db_start", "db_status", "db_stop",
         "declared_schema", "drift", "exclusive", "existing_database_url", "generate", "integrity", "lint",
         "load_expectations",
         "mark_on", "migrate", "migrate_on", "plan", "preflight", "preflight_on", "read_migrations", "read_schema",
         "read_schema_on",
         "repair", "rollback", "rollback_on", "schema_differences", "schema_fingerprint_on", "schema_inventory_on", "scratch_database", "scratch_login", "status", "status_on",
         "validate", "validate_on", "verify", "verify_catalog", "write_generated")),
    ("config", ("Settings", "load_settings")),
    ("console", ("CommandParser", "OneLineParser", "run_console")),
    ("migration_files.model", ("Migration",)),
    ("engine.model", ("MigrationState", "PlannedMigration", "PlannedStatement", "RunResult")),
    ("errors", ("ConfigError", "DataLossRefused", "DatabaseUnavailable", "EmbeddedError", "GenerateRefused", "LockTimeout",
         "MigrationError", "MigrationFailed", "SchemaToolsError", "ValidationFailed", "VerificationFailed")),
    ("expect.model", ("ColumnSpec", "ForeignKeySpec", "IndexSpec", "TableExpectation")),
    ("expect.parse", ("tables_from",)),
    ("findings", ("FORMATS", "Check", "Finding", "Report", "Severity", "render")),
    ("generator", ("Generated", "GeneratedFile")),
    ("server.model", ("DatabaseMark", "ScratchLogin")),
    ("server.urls", ("mask_url", "password_of", "redact", "secret_files")),
    ("tomlspec", ("TomlDoc", "Field", "Invalid", "Kinds", "read_toml")),
)
_WHERE = {name: module for module, names in _MODULES for name in names}
_RENAMED = {"TomlDoc": "Doc"}  # public name -> the module's own

__all__ = [
    # verbs
    "baseline", "changes_on", "check_reversible", "declared_schema", "drift", "generate", "integrity", "lint", "load_expectations", "migrate", "migrate_on",
    "plan", "preflight", "preflight_on", "read_migrations", "read_schema", "read_schema_on", "repair", "rollback", "rollback_on",
    "schema_differences", "schema_fingerprint_on", "schema_inventory_on", "status", "status_on", "validate", "validate_on", "verify", "verify_catalog",
    "write_generated",
    # databases
    "connect", "database_url", "db_start", "db_status", "db_stop", "exclusive", "existing_database_url", "mask_url",
    "password_of", "redact", "secret_files", "scratch_database", "scratch_login", "ScratchLogin", "mark_on", "DatabaseMark",
    # settings and errors
    "Settings", "load_settings", "ConfigError", "DataLossRefused", "DatabaseUnavailable", "EmbeddedError", "GenerateRefused", "LockTimeout",
    "MigrationFailed",
    "MigrationError", "SchemaToolsError", "ValidationFailed", "VerificationFailed",
    # data
    "Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table", "Unique",
    "ColumnSpec", "ForeignKeySpec", "IndexSpec", "TableExpectation", "tables_from",
    "Migration", "MigrationState", "PlannedMigration", "PlannedStatement", "RunResult", "Generated", "GeneratedFile",
    "FORMATS", "Check", "Finding", "Report", "Severity", "render",
    # TOML inputs checked against field specs, errors at file:line
    "Field", "Invalid", "Kinds", "TomlDoc", "read_toml",
    # console scripts in the project's conventions (one-line errors, exit codes)
    "CommandParser", "OneLineParser", "run_console",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'schema_tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
