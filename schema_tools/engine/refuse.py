"""What the runner refuses to run, decided from the statements before anything of a migration
runs (exit code 2, ``file:line``, why): what would break the runner's own promises.

- beginning, ending or preparing a transaction in a transactional migration (the runner wraps
  each in one), and PREPARE TRANSACTION / COMMIT PREPARED / ROLLBACK PREPARED anywhere (changes
  left in a prepared transaction are neither applied nor undone, and hold their locks);
- changing standard_conforming_strings or client_encoding to anything but what the runner pins
  (the server would read the next statements differently from every tool that read the file),
  or a setting whose name is known only at run time;
- DISCARD ALL and the advisory-unlock functions (the session's state is the runner's);
- COPY ... TO STDOUT (nowhere to put the rows), and COPY ... FROM STDIN without rows inline.

DO blocks and the bodies of functions and procedures a migration creates are read too.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import MigrationError
from ..migration_files.model import Migration
from ..sql.scanner import quote_depends_on_backslashes
from ..sql.statement import Statement

PINNED_VALUES = {"standard_conforming_strings": {"on", "true", "yes", "1", "default"},
                 "client_encoding": {"utf8", "utf-8", "unicode", "default"}}
PREPARED = {"PREPARE TRANSACTION", "COMMIT PREPARED", "ROLLBACK PREPARED"}
SESSION_STATE = {"the whole session (DISCARD ALL)", "advisory locks (pg_advisory_unlock_all)",
                 "advisory locks (pg_advisory_unlock)", "advisory locks (pg_advisory_unlock_shared)",
                 "a setting named at run time (set_config)", "unknown: a statement nested too deeply to read"}


def _within(stmt: Statement) -> Iterator[Statement]:
    """The statement and those its function or procedure body would run."""
    yield stmt
    yield from stmt.routine_body


def why_refused(stmt: Statement, transactional: bool) -> str:
    """Why the runner will not run ``stmt`` (""; it may): the reason and the fix, for a person."""
    for s in _within(stmt):
        control = s.transaction_control
        if control in PREPARED:
            return (f"{control} leaves the migration's changes in a prepared transaction, neither applied nor "
                    "undone, holding its locks -- remove it")
        if control and transactional:
            return (f"{control} in a transactional migration -- remove it: each migration already runs in its own "
                    "transaction (or add '-- transactional: false' to run the file statement by statement)")
        changes = set(s.session_changes)
        state = sorted(changes & SESSION_STATE)
        if state:
            return (f"changes {state[0]}, which the runner relies on (its lock, its settings) -- remove it; "
                    "every migration starts from a clean session anyway")
        for name, value in s.setting_values:
            allowed = PINNED_VALUES.get(name)
            if allowed is not None and (value is None or value.strip().lower() not in allowed):
                return (f"sets {name} to {value if value is not None else 'a value known only at run time'}: the "
                        f"server would read the next statements differently from every tool that read the file -- "
                        f"remove it (the runner keeps {name} {'on' if name.startswith('standard') else 'UTF8'})")
    if quote_depends_on_backslashes(stmt.sql) is not None:
        return ("a string constant holds a backslash before its closing quote: the server would read it "
                "differently if standard_conforming_strings were ever off -- write it as E'...' with the "
                "backslash doubled, or without the backslash")
    if stmt.client_copy == "COPY ... TO STDOUT":
        return "COPY ... TO STDOUT sends rows to the runner, which has nowhere to put them -- COPY to a file, or remove it"
    return ""


def refuse_unrunnable(m: Migration) -> None:
    """Raise MigrationError (exit 2) at the first statement of the migration or its rollback
    file that the runner refuses; nothing of the migration has run."""
    for path, statements in ((m.path, m.statements), (m.rollback_path, m.rollback_statements)):
        for stmt in statements:
            why = why_refused(stmt, m.transactional)
            if why:
                reason, _, fix = why.partition(" -- ")
                raise MigrationError(f"{path.name}:{stmt.line}: {reason}", migration_id=m.id,
                                     line=stmt.line, hint=fix)
