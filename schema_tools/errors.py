"""One exception base for everything the library raises on purpose.

Each error carries a message that says what is wrong and a hint that says how to fix it;
the CLI prints them on one line and exits with ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class HasMessage(Protocol):
    """What an error's findings need to be shown: a message (``findings.Finding`` has one)."""

    @property
    def message(self) -> str: ...


class SchemaToolsError(Exception):
    """Base error: bad input or environment (exit code 2)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "", context: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context  # lines shown under the one-line message (a statement and its caret)

    def one_line(self) -> str:
        """The message and the hint, on one line."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} -- {' '.join(self.hint.split())}"
        return text


class ConfigError(SchemaToolsError):
    """A setting, argument or file the user gave is malformed."""


class DatabaseUnavailable(SchemaToolsError):
    """The database could not be reached or refused the login."""


class EmbeddedError(SchemaToolsError):
    """The embedded PostgreSQL could not be found, created or started."""


class MigrationError(SchemaToolsError):
    """A migration could not be read or applied; carries where it failed."""

    def __init__(
        self,
        message: str,
        *,
        migration_id: str | None = None,
        line: int | None = None,
        hint: str = "",
        context: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint, context=context)
        self.migration_id = migration_id
        self.line = line


class MigrationFailed(MigrationError):
    """The server refused a migration's statement (the migration is wrong, not the input's
    form): problems found, exit code 1."""

    exit_code = 1


class OnlyItsTool(MigrationError):
    """The next migration is one only its own tool can run (a goose .go file, a Flyway Java
    migration): migrate stopped right before it (exit code 1)."""

    exit_code = 1


class LockTimeout(SchemaToolsError):
    """Another process held the migration lock for longer than we were told to wait."""


class ValidationFailed(SchemaToolsError):
    """The applied history does not match the files; carries the findings (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, findings: list[object], hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.findings = findings


class VerificationFailed(SchemaToolsError):
    """Migrations applied, but the result failed the caller's verification; ``restored`` says
    whether the database is back as it was (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, problems: list[str], restored: bool, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.problems = problems
        self.restored = restored


class DataLossRefused(SchemaToolsError):
    """A rollback would drop rows and nobody said yes (exit code 2; nothing changed)."""


class GenerateRefused(SchemaToolsError):
    """The live database is not what the files declare (it drifted, or migrations are pending): a
    draft from either would be wrong. ``findings``: the differences (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, findings: Sequence[HasMessage], hint: str = "") -> None:
        super().__init__(message, hint=hint or "bring the database in line with the files first (schema-tools "
                                               "drift lists the differences), or generate without --database",
                         context=tuple(f"  drift: {f.message}" for f in findings[:20]))
        self.findings = list(findings)


class Interrupted(SchemaToolsError):
    """SIGINT or SIGTERM stopped a run: what was done stays, the running query was cancelled
    (exit code 128 + the signal: 130, 143)."""

    def __init__(self, message: str, *, signum: int, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.exit_code = 128 + signum if signum else 1
