"""The lint cache: keyed by the content of every migration up to a point (and by the linter's own
code and settings), so an unchanged history is never parsed twice.

Two entries per run: the whole result (for an unchanged history) and the state before the last
migration (for the common edit: the newest file). Entries live in the project's git-ignored
state folder, are written atomically, and only the newest few are kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.files import Migration

if TYPE_CHECKING:
    from . import LintState
    from ..findings import Finding

KEEP = 8


@cache
def _code_version() -> str:
    """A hash of the code that decides findings: a change of rules invalidates the cache."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class LintCache:
    def __init__(self, folder: Path, distribution_column: str | None) -> None:
        self.folder = folder
        self.seed = hashlib.sha256(f"{_code_version()}|{distribution_column}".encode()).hexdigest()

    def _prefixes(self, migrations: Sequence[Migration]) -> list[str]:
        hashes, current = [], self.seed
        for m in migrations:
            current = hashlib.sha256(f"{current}|{m.path}|{m.text}|{m.rollback_text}".encode()).hexdigest()
            hashes.append(current)
        return hashes

    def _read(self, name: str) -> object | None:
        try:
            with open(self.folder / name, "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, ValueError):
            return None

    def _write(self, name: str, value: object) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            with open(temporary, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            temporary.replace(self.folder / name)
            entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs time

    def load(self, migrations: Sequence[Migration]) -> tuple[dict[str, list[Finding]], dict[tuple[str, int], set[str]],
                                                            list[Finding]] | None:
        """The whole result (findings by file, ignores, schema-level findings) when nothing changed."""
        if not migrations:
            return None
        value = self._read(f"{self._prefixes(migrations)[-1]}.final.pickle")
        return value if isinstance(value, tuple) and len(value) == 3 else None  # type: ignore[return-value]

    def resume(self, migrations: Sequence[Migration]) -> tuple[LintState, int] | None:
        """The state after the longest unchanged prefix we kept, and where to continue."""
        prefixes = self._prefixes(migrations)
        for index in range(len(prefixes) - 2, -1, -1):
            value = self._read(f"{prefixes[index]}.state.pickle")
            if value is not None:
                return value, index + 1  # type: ignore[return-value]
        return None

    def save_state(self, migrations: Sequence[Migration], index: int, state: LintState) -> None:
        state.schema._current = None  # a parse tree: not needed to resume
        self._write(f"{self._prefixes(migrations)[index]}.state.pickle", state)

    def save_final(self, migrations: Sequence[Migration], state: LintState, schema_findings: list[Finding]) -> None:
        """Only findings: reading them back needs neither sqlglot nor the declared schema."""
        if migrations:
            self._write(f"{self._prefixes(migrations)[-1]}.final.pickle", (state.by_file, state.covered, schema_findings))
