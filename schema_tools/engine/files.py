"""Migration files in yoyo's SQL format: reading, header directives, statements, ordering.

A migration is ``ID.sql`` with an optional ``ID.rollback.sql``. Leading comment lines may
carry directives: yoyo's ``depends`` and ``transactional``, and ours, ``lock_timeout``,
``statement_timeout`` and ``irreversible: why`` (yoyo reads ours as plain comments). Statements are split as psql
splits them (``splitter``), which agrees with yoyo's sqlparse on real files and is much faster.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path


from ..config import duration_problem
from ..errors import ConfigError, MigrationError
from ..sqltext.split import checked

TRANSACTION_CONTROL = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|END|ABORT|START\s+TRANSACTION)\b(?!\s+(?:ATOMIC|TO)\b)", re.IGNORECASE)
LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
DIRECTIVE = re.compile(r"^\s*--\s*([a-z_]+)\s*:\s*(.*?)\s*$")
KNOWN_DIRECTIVES = ("depends", "transactional", "lock_timeout", "statement_timeout", "irreversible")
ROLLBACK_SUFFIX = ".rollback.sql"


@dataclass(frozen=True)
class Statement:
    """One SQL statement (leading comments removed) and the file line and column where it starts."""

    sql: str
    line: int
    column: int = 1

    def location(self, position: int | None) -> tuple[int, int]:
        """The file line and column of a 1-based character position in ``sql``."""
        if not position:
            return self.line, self.column
        before = self.sql[: position - 1]
        newline = before.rfind("\n")
        if newline < 0:
            return self.line, self.column + position - 1
        return self.line + before.count("\n"), position - 1 - newline


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("--")


@dataclass(frozen=True)
class SyntaxProblem:
    """Where PostgreSQL's parser stops reading a file."""

    message: str
    line: int
    column: int


def split_statements(text: str) -> list[Statement]:
    """The statements of a file, each with its line; pieces holding only comments dropped."""
    return split_checked(text)[0]


def split_checked(text: str) -> tuple[list[Statement], SyntaxProblem | None]:
    """``split_statements``, and the syntax error PostgreSQL's parser finds in the text, if any."""
    pieces, error = checked(text)
    problem = None
    if error is not None:
        offset, message = error
        problem = SyntaxProblem(message, text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))
    statements: list[Statement] = []
    line, counted = 1, 0
    for offset, piece in pieces:
        lead = LEADING_NOISE.match(piece).end()  # type: ignore[union-attr]
        body = piece[lead:].rstrip()
        if not body:
            continue
        line += text.count("\n", counted, offset + lead)
        counted = offset + lead
        statements.append(Statement(body, line, counted - text.rfind("\n", 0, counted)))
    return statements, problem


def parse_directives(text: str, source: str) -> dict[str, str]:
    """Directives from the leading comment block; unknown ``-- word:`` lines are comments."""
    directives: dict[str, str] = {}
    for line in text.splitlines():
        if not _is_comment_or_blank(line):
            break
        match = DIRECTIVE.match(line)
        if match and match.group(1) in KNOWN_DIRECTIVES:
            name, value = match.groups()
            directives[name] = f"{directives[name]} {value}".strip() if name in directives else value
    transactional = directives.get("transactional", "true").lower()
    if transactional not in ("true", "false"):
        raise MigrationError(
            f"{source}: '-- transactional: {directives['transactional']}' must be true or false",
        )
    for name in ("lock_timeout", "statement_timeout"):
        problem = duration_problem(directives[name]) if name in directives else None
        if problem:
            raise MigrationError(
                f"{source}: '-- {name}: {directives[name]}' {problem}",
                hint="write a whole number with a unit: ms, s, min, h or d (for example '30s'), at most 24 days",
            )
    return directives


def normalised_checksum(text: str) -> str:
    """sha256 of the content with line endings normalised to LF."""
    canonical = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def yoyo_hash(migration_id: str) -> str:
    """The key yoyo stores for a migration: sha256 of its id (not of its content)."""
    return hashlib.sha256(migration_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Migration:
    """One migration file, its rollback and its header."""

    id: str
    path: Path
    text: str
    rollback_text: str | None
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def depends(self) -> tuple[str, ...]:
        return tuple(self.directives.get("depends", "").split())

    @property
    def transactional(self) -> bool:
        return self.directives.get("transactional", "true").lower() == "true"

    @property
    def rollback_path(self) -> Path:
        return self.path.with_name(self.id + ROLLBACK_SUFFIX)

    @property
    def checksum(self) -> str:
        return normalised_checksum(self.text)

    @cached_property
    def _split(self) -> tuple[list[Statement], SyntaxProblem | None]:
        return split_checked(self.text)

    @property
    def statements(self) -> list[Statement]:
        return self._split[0]

    @property
    def syntax_problem(self) -> SyntaxProblem | None:
        """The syntax error PostgreSQL's parser finds in the file, if any."""
        return self._split[1]

    @cached_property
    def _rollback_split(self) -> tuple[list[Statement], SyntaxProblem | None]:
        return split_checked(self.rollback_text) if self.rollback_text is not None else ([], None)

    @property
    def rollback_statements(self) -> list[Statement]:
        return self._rollback_split[0]

    @property
    def rollback_syntax_problem(self) -> SyntaxProblem | None:
        return self._rollback_split[1]

    @property
    def irreversible(self) -> str:
        """Why the migration declares it cannot be rolled back (an ``irreversible`` header, or a
        rollback file holding only comments while the migration does something), or ''."""
        if "irreversible" in self.directives:
            return f"declared irreversible: {self.directives['irreversible'] or 'no reason given'}"
        if self.rollback_text is not None and not self.rollback_statements and self.statements:
            return f"declared irreversible: {self.rollback_path.name} holds no statement"
        return ""


def _read_text(path: Path) -> str:
    """The file's text exactly as PostgreSQL would get it, or a refusal: only regular files
    (a FIFO is never waited on), UTF-8, no NUL byte (libpq would end the statement there and
    run the rest as if it were not written). A leading byte-order mark is not SQL: dropped."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise MigrationError(f"{path}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MigrationError(f"{path}: not a regular file", hint="a migration is a plain .sql file; remove this one")
        data = handle.read()
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MigrationError(f"{path}:{line}: not UTF-8 text", hint="save the file as UTF-8") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise MigrationError(f"{path}:{line}: a NUL byte", hint="PostgreSQL ends a statement at a NUL byte, so the "
                             "file cannot run as written: remove it (nothing was applied)")
    return text


def refuse_transaction_control(m: Migration) -> None:
    """A transactional migration may not BEGIN or COMMIT itself (the runner wraps it)."""
    for path, statements in ((m.path, m.statements), (m.rollback_path, m.rollback_statements)):
        for stmt in statements:
            if TRANSACTION_CONTROL.match(stmt.sql):
                raise MigrationError(
                    f"{path.name}:{stmt.line}: {stmt.sql.split()[0].upper()} in a transactional migration",
                    migration_id=m.id, line=stmt.line,
                    hint="remove it: each migration already runs in its own transaction "
                    "(or add '-- transactional: false' to run the file statement by statement)")


def read_migration(path: Path) -> Migration:
    """Read one ``ID.sql`` file and its rollback, validating the header."""
    migration_id = path.name[: -len(".sql")]
    text = _read_text(path)
    rollback = path.with_name(migration_id + ROLLBACK_SUFFIX)
    rollback_text = _read_text(rollback) if rollback.exists() or rollback.is_symlink() else None
    directives = parse_directives(text, str(path))
    return Migration(migration_id, path, text, rollback_text, directives)


def order(migrations: list[Migration]) -> list[Migration]:
    """Dependency order, ties broken by id (as yoyo orders them)."""
    by_id = {m.id: m for m in migrations}
    for m in migrations:
        for dep in m.depends:
            if dep not in by_id:
                raise MigrationError(
                    f"{m.path}: depends on {dep!r}, which is not a migration in {m.path.parent}",
                    migration_id=m.id,
                    hint="fix the '-- depends:' line or add the missing file",
                )
    done: set[str] = set()
    result: list[Migration] = []
    remaining = sorted(by_id)
    while remaining:
        ready = next((i for i in remaining if all(d in done for d in by_id[i].depends)), None)
        if ready is None:
            raise MigrationError(
                f"dependency cycle among migrations: {', '.join(remaining)}",
                hint="remove one of the '-- depends:' lines that close the cycle",
            )
        remaining.remove(ready)
        done.add(ready)
        result.append(by_id[ready])
    return result


def python_files(folder: Path) -> list[Path]:
    """The .py files of a migrations folder (yoyo would run each as a migration)."""
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def read_migrations(folder: Path, skip_python: bool = False) -> list[Migration]:
    """All migrations of a folder, in the order they apply. A .py file is refused (yoyo would run
    it as a migration), unless ``skip_python`` (static analysis: the caller says it was not read)."""
    if not folder.is_dir():
        raise ConfigError(
            f"migrations folder {folder} does not exist",
            hint="pass --migrations DIR or set [tool.schema_tools] migrations in pyproject.toml",
        )
    python = [] if skip_python else [p.name for p in python_files(folder)]
    if python:
        raise MigrationError(
            f"{folder / python[0]}: Python migrations are not supported",
            hint="write the migration as SQL (ID.sql with ID.rollback.sql)",
        )
    names = sorted(os.listdir(folder))  # one listing (a history may hold thousands of files)
    odd = [n for n in names if (suffix := os.path.splitext(n)[1]) != ".sql" and suffix.lower() == ".sql"]
    if odd:
        raise MigrationError(f"{folder / odd[0]}: migrations end in .sql (lower case)",
                             hint=f"rename it to {Path(odd[0]).stem}.sql, or move it out of the folder")
    files = [n for n in names if n.endswith(".sql") and not n.endswith(ROLLBACK_SUFFIX)]
    ids = {n[: -len(".sql")] for n in files}
    for orphan in (n for n in names if n.endswith(ROLLBACK_SUFFIX)):
        if orphan[: -len(ROLLBACK_SUFFIX)] not in ids:
            raise MigrationError(
                f"{folder / orphan}: rollback file without a migration",
                hint="rename it to match its migration, or delete it",
            )
    return order([read_migration(folder / n) for n in files])
