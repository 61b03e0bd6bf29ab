"""schema_tools: PostgreSQL migrations, schema verification and data-integrity checks.

The public API, typed: the verbs of :mod:`schema_tools.commands` (each ``verb(settings, ...)``
opens what it needs), the settings, the errors every verb raises, and the data the verbs take
and return. Programs that drive schema-tools around code they do not trust, on connections they
own (``ralph``), find the rest of their kit in :mod:`schema_tools.harness`. ``ralph`` and the CLI
use nothing else.

mypy and readers see the imports below; at run time each name is imported on first use, so a
command pays only for what it uses (`schema-tools status` starts at about psycopg's own cost)
and importing this package loads neither psycopg nor sqlglot. ``tests/test_api.py`` keeps the
imports, the table and ``__all__`` equal.
"""

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog.model import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
    from .commands import (baseline, check_reversible, connect, database_url, db_start, db_status, db_stop,
                           declared_schema, drift, generate, integrity, lint, load_expectations, migrate, plan,
                           preflight, read_migrations, read_schema, repair, rollback, status, validate, verify,
                           verify_catalog)
    from .config import Settings, load_settings
    from .engine.model import MigrationState, PlannedMigration, RunResult
    from .errors import (ConfigError, DataLossRefused, DatabaseUnavailable, EmbeddedError, GenerateRefused, LockTimeout,
                         MigrationError, MigrationFailed, SchemaToolsError, ValidationFailed, VerificationFailed)
    from .expect.model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation
    from .findings import Finding, Report, Severity, render
    from .generator import Generated, GeneratedFile
    from .migration_files.model import Migration, Migrations

Exports = tuple[tuple[str, tuple[str, ...]], ...]
_MODULES: Exports = (
    ("catalog.model", ("Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table", "Unique")),
    ("commands", ("baseline", "check_reversible", "connect", "database_url", "db_start", "db_status", "db_stop",
                  "declared_schema", "drift", "generate", "integrity", "lint", "load_expectations", "migrate", "plan",
                  "preflight", "read_migrations", "read_schema", "repair", "rollback", "status", "validate", "verify",
                  "verify_catalog")),
    ("config", ("Settings", "load_settings")),
    ("engine.model", ("MigrationState", "PlannedMigration", "RunResult")),
    ("errors", ("ConfigError", "DataLossRefused", "DatabaseUnavailable", "EmbeddedError", "GenerateRefused",
                "LockTimeout", "MigrationError", "MigrationFailed", "SchemaToolsError", "ValidationFailed",
                "VerificationFailed")),
    ("expect.model", ("ColumnSpec", "ForeignKeySpec", "IndexSpec", "TableExpectation")),
    ("findings", ("Finding", "Report", "Severity", "render")),
    ("generator", ("Generated", "GeneratedFile")),
    ("migration_files.model", ("Migration", "Migrations")),
)

__all__ = [
    # verbs
    "baseline", "check_reversible", "declared_schema", "drift", "generate", "integrity", "lint", "load_expectations",
    "migrate", "plan", "preflight", "read_migrations", "read_schema", "repair", "rollback", "status", "validate",
    "verify", "verify_catalog",
    # databases
    "connect", "database_url", "db_start", "db_status", "db_stop",
    # settings and errors
    "Settings", "load_settings", "ConfigError", "DataLossRefused", "DatabaseUnavailable", "EmbeddedError",
    "GenerateRefused", "LockTimeout", "MigrationError", "MigrationFailed", "SchemaToolsError", "ValidationFailed",
    "VerificationFailed",
    # data
    "Catalog", "CheckConstraint", "Column", "ForeignKey", "Index", "PrimaryKey", "Table", "Unique",
    "ColumnSpec", "ForeignKeySpec", "IndexSpec", "TableExpectation",
    "Migration", "Migrations", "MigrationState", "PlannedMigration", "RunResult", "Generated", "GeneratedFile",
    "Finding", "Report", "Severity", "render",
]


def _lazy(package: str, modules: Exports, renamed: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each public name of ``modules`` on first use."""
    where = {name: module for module, names in modules for name in names}
    namespace = importlib.import_module(package).__dict__

    def get(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"schema_tools.{where[name]}"), renamed.get(name, name))
        namespace[name] = value
        return value

    return get


__getattr__ = _lazy(__name__, _MODULES, {})


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
