"""The agent's workspace: a private copy of the project. The harness takes back only the story's
own pending migration files (and their rollbacks), checked like any other input; nothing else
the agent writes there is ever read."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from schema_tools import Settings

SKIPPED = {".git", ".hg", ".venv", "venv", ".schema_tools", ".ralph", "node_modules", "__pycache__", ".mypy_cache",
           ".pytest_cache", ".hypothesis", ".tox", ".cache"}
MAX_MIGRATION_BYTES = 4 * 1024 * 1024
SUFFIXES = (".rollback.sql", ".sql")


@dataclass
class Workspace:
    """A temporary folder: ``project`` (the copy the agent works in) and the prompt beside it."""

    base: Path
    project: Path

    @property
    def prompt_file(self) -> Path:
        return self.base / "prompt.md"

    @property
    def temporary(self) -> Path:
        """The agent's TMPDIR (the rest of the machine is read-only to it in the sandbox)."""
        return self.base / "tmp"

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class TakenBack:
    """What came back from the workspace: files written into the project, and refusals."""

    taken: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def make_workspace(root: Path) -> Workspace:
    """Copy the project (without version-control, virtualenv and state folders) to a new
    temporary folder outside it."""
    base = Path(tempfile.mkdtemp(prefix="ralph-workspace-"))
    base.chmod(0o700)
    project = base / "project"
    shutil.copytree(root, project, symlinks=True, ignore=lambda folder, names: [n for n in names if n in SKIPPED])
    (base / "tmp").mkdir()
    return Workspace(base, project)


def _migration_id(name: str) -> str | None:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file (never through a symlink), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MIGRATION_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_MIGRATION_BYTES + 1)
    finally:
        os.close(fd)


def take_back(workspace: Workspace, settings: Settings, story_migrations: tuple[str, ...], applied: frozenset[str],
              others: set[str]) -> TakenBack:
    """Copy into the project's migrations folder each ``ID.sql`` / ``ID.rollback.sql`` the agent
    added or changed, when ID is the story's (or new) and not applied and not another story's.
    Changes to anything else are refused and said, and then nothing is taken (all or nothing);
    the agent's files are never executed here."""
    result = TakenBack()
    writes: list[tuple[Path, bytes]] = []
    try:
        relative = settings.migrations_dir.relative_to(settings.project_root)
    except ValueError:
        result.refused.append(f"the migrations folder {settings.migrations_dir} is outside the project: "
                              "nothing can be taken back from the workspace")
        return result
    source = workspace.project / relative
    if not source.is_dir() or source.is_symlink():
        return result
    for entry in sorted(source.iterdir()):
        mid = _migration_id(entry.name)
        if mid is None:
            continue
        target = settings.migrations_dir / entry.name
        content = _read_regular(entry)
        before = _read_regular(target) if target.exists() else None
        if content is not None and content == before:
            continue
        owned = mid in story_migrations or not (settings.migrations_dir / f"{mid}.sql").exists()
        if mid in applied:
            result.refused.append(f"the agent changed {entry.name}, but {mid} is applied on the target (frozen): "
                                  "put the change in a new migration")
        elif mid in others or not owned:
            result.refused.append(f"the agent changed {entry.name}, which belongs to another story")
        elif content is None:
            result.refused.append(f"{entry.name} is not a regular file of at most {MAX_MIGRATION_BYTES} bytes")
        elif b"\0" in content:
            result.refused.append(f"{entry.name} holds a NUL byte (PostgreSQL would cut the statement there)")
        else:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                result.refused.append(f"{entry.name} is not UTF-8 text")
                continue
            writes.append((target, content))
    if result.refused:
        return result
    for target, content in writes:
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(content)
        temporary.replace(target)
        result.taken.append(target.name)
    return result
