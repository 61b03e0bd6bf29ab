"""The kit for programs that drive schema-tools around code they do not trust, on connections
they own (``ralph``): the verbs in their ``_on`` form, scratch databases and logins that reach
nothing else, marks of a database to ask later what changed, secrets found and redacted, and the
project's conventions for console scripts and TOML inputs. Everything else is in ``schema_tools``.

Names are imported on first use, as in ``schema_tools``; ``tests/test_api.py`` keeps the typed
imports, the table and ``__all__`` equal.
"""

from typing import TYPE_CHECKING

from .. import Exports, _lazy

if TYPE_CHECKING:
    from ..commands import (changes_on, exclusive, existing_database_url, mark_on, migrate_on, preflight_on,
                            read_schema_on, rollback_on, schema_differences, schema_fingerprint_on, schema_inventory_on,
                            scratch_database, scratch_login, status_on, validate_on, write_generated)
    from ..console import CommandParser, OneLineParser, run_console
    from ..expect.parse import tables_from
    from ..server.model import DatabaseMark, ScratchLogin
    from ..server.owner import OwnerLogin, give_to_owner, owner_login
    from ..server.throwaway import LocalCluster, throwaway_cluster
    from ..server.urls import mask_url, password_of, redact, secret_files
    from ..tomlspec import Doc as TomlDoc
    from ..tomlspec import Field, Invalid, Kinds, read_toml

_MODULES: Exports = (
    ("commands", ("changes_on", "exclusive", "existing_database_url", "mark_on", "migrate_on", "preflight_on",
                  "read_schema_on", "rollback_on", "schema_differences", "schema_fingerprint_on", "schema_inventory_on",
                  "scratch_database", "scratch_login", "status_on", "validate_on", "write_generated")),
    ("console", ("CommandParser", "OneLineParser", "run_console")),
    ("expect.parse", ("tables_from",)),
    ("server.model", ("DatabaseMark", "ScratchLogin")),
    ("server.owner", ("OwnerLogin", "give_to_owner", "owner_login")),
    ("server.throwaway", ("LocalCluster", "throwaway_cluster")),
    ("server.urls", ("mask_url", "password_of", "redact", "secret_files")),
    ("tomlspec", ("TomlDoc", "Field", "Invalid", "Kinds", "read_toml")),
)

__all__ = [
    # verbs on a connection the caller owns
    "migrate_on", "rollback_on", "status_on", "validate_on", "preflight_on", "read_schema_on", "write_generated",
    # isolation: scratch databases and logins, a lock of one's own, what changed on a database
    "scratch_database", "scratch_login", "ScratchLogin", "exclusive", "existing_database_url", "mark_on", "changes_on",
    "DatabaseMark", "schema_fingerprint_on", "schema_inventory_on", "schema_differences",
    # least privilege: the owner login promotion runs as; a throwaway local cluster for untrusted SQL
    "OwnerLogin", "owner_login", "give_to_owner", "LocalCluster", "throwaway_cluster",
    # secrets
    "mask_url", "password_of", "redact", "secret_files",
    # console scripts in the project's conventions (one-line errors, exit codes); TOML inputs checked at file:line
    "CommandParser", "OneLineParser", "run_console", "Field", "Invalid", "Kinds", "TomlDoc", "read_toml", "tables_from",
]

__getattr__ = _lazy(__name__, _MODULES, {"TomlDoc": "Doc"})


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
