"""The files the harness reads (its own code included), checked after the agent ran whether or not a
sandbox held it: restored when changed, removed when added."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

KEEP_BYTES = 16 * 1024 * 1024  # files up to this size are restored; larger ones only reported


Tree = tuple[Path, str]  # a folder and a glob pattern


class Guard:
    """Snapshots of files, of trees (files below a folder matching a pattern, recursively,
    byte-code caches left out) and of flat folders (matching files directly inside)."""

    def __init__(self, files: Iterable[Path], trees: Iterable[Tree], root: Path, flat: Iterable[Tree] = ()) -> None:
        self.root = root
        self.trees = [(f, p, True) for f, p in dict.fromkeys(trees)]
        self.trees += [(f, p, False) for f, p in dict.fromkeys(flat)]
        self.saved: dict[Path, bytes | str | None] = {}
        for path in [*files, *(p for tree in self.trees for p in _files(*tree))]:
            self.saved.setdefault(path, _snapshot(path))

    @property
    def folders(self) -> list[Path]:
        return [folder for folder, _, recursive in self.trees if recursive and folder.is_dir()]

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def restore_changes(self) -> list[str]:
        """Restore every changed or deleted file and remove added ones; one finding each."""
        findings = []
        for path, saved in self.saved.items():
            now = _snapshot(path)
            if now == saved:
                continue
            if saved is None:
                path.unlink(missing_ok=True)
                findings.append(f"tampering: the agent created {self._shown(path)}; removed")
            elif isinstance(saved, bytes):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.unlink(missing_ok=True)  # a symlink put in its place is replaced, not followed
                path.write_bytes(saved)
                findings.append(f"tampering: the agent changed {self._shown(path)}, which the harness owns; restored")
            else:
                findings.append(f"tampering: the agent changed {self._shown(path)} (too large to restore)")
        for tree in self.trees:
            for path in _files(*tree):
                if path not in self.saved:
                    path.unlink(missing_ok=True)
                    findings.append(f"tampering: the agent created {self._shown(path)}; removed")
        return findings


def _files(folder: Path, pattern: str, recursive: bool) -> list[Path]:
    if not folder.is_dir():  # a folder that does not exist yet is guarded too: all it gets is new
        return []
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    return sorted(p for p in found if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts)


def purge_bytecode(folders: Iterable[Path], since: float) -> None:
    """Remove byte-code written below ``folders`` since ``since`` (a planted .pyc would run in
    place of its source). The inode change time, which no one can set back, decides."""
    for folder in folders:
        for path in folder.rglob("__pycache__/*"):
            try:
                if path.lstat().st_ctime >= since:
                    path.unlink()
            except OSError:
                pass


def _snapshot(path: Path) -> bytes | str | None:
    """The file's bytes (or, when large, their sha256), or None when it does not exist."""
    try:
        if path.is_symlink():
            return f"symlink to {path.readlink()}"
        if path.stat().st_size > KEEP_BYTES:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
