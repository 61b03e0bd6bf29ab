"""A draft as migration files: names, headers (``depends``, ``transactional``, ``lock_timeout``)
and rollback files that undo each change in reverse order."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .draft import Change, Draft

NUMBERED = re.compile(r"^(\d+)_.*\.sql$")
ROLLBACK_SUFFIX = ".rollback.sql"
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class GeneratedFile:
    """One migration: its id, its SQL and its rollback's SQL."""

    id: str
    sql: str
    rollback: str
    transactional: bool


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def migration_ids(folder: Path, count: int, name: str, reserved: tuple[str, ...] = ()) -> list[str]:
    """``count`` new ids: the ``reserved`` ones first (a story's migrations whose files do not
    exist yet; only plain file names), then ``NNNN_name`` one past the highest number in the folder."""
    reserved = tuple(r for r in reserved if SAFE_ID.match(r) and ".." not in r)
    existing = [p.name for p in folder.glob("*.sql") if not p.name.endswith(ROLLBACK_SUFFIX)] if folder.is_dir() else []
    free = [r for r in reserved if f"{r}.sql" not in existing]
    numbers = [(int(m.group(1)), len(m.group(1))) for n in existing + [f"{r}.sql" for r in free]
               if (m := NUMBERED.match(n))]
    width = max((w for _, w in numbers), default=4)
    top = max((n for n, _ in numbers), default=0)
    ids = free[:count]
    while len(ids) < count:
        top += 1
        suffix = "" if len(ids) == 0 else "_online" if len(ids) == 1 else f"_{len(ids)}"
        ids.append(f"{top:0{width}d}_{name}{suffix}")
    return ids


def _header(depends: str | None, transactional: bool, lock_timeout: bool, about: str, drops: list[str]) -> list[str]:
    lines = [f"-- depends: {depends}"] if depends else []
    lines += [] if transactional else ["-- transactional: false"]
    lines += [f"-- lock_timeout: {LOCK_TIMEOUT}"] if lock_timeout else []
    lines += [f"-- irreversible: it drops data ({'; '.join(drops)})"] if drops else []
    return lines + [f"-- {about}"]


def comment_text(text: str) -> str:
    """``text`` safe after ``--``: a line break in a name must not end the comment and start SQL."""
    return "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)


def _body(changes: list[Change], phase: str) -> list[str]:
    out: list[str] = []
    for change in changes:
        statements = getattr(change, phase)
        if statements:
            out += ["", f"-- {comment_text(change.what)}", *statements]
    return out


def _undo(changes: list[Change], phase: str) -> list[str]:
    out: list[str] = []
    for change in reversed(changes):
        out += getattr(change, f"{phase}_undo")
    return out


def render(draft: Draft, ids: list[str], depends: str | None, about: str) -> list[GeneratedFile]:
    """The draft's files: one transactional migration, and one outside a transaction after it when
    some statement must run there (CONCURRENTLY, VALIDATE on its own commit)."""
    files: list[GeneratedFile] = []
    for phase, mid in zip(draft.phases, ids):
        drops = [c.what for c in draft.changes if c.drops_data and getattr(c, phase)]
        transactional = phase == "tx"
        head = _header(files[-1].id if files else depends, transactional, draft.existing_touched, about, drops)
        sql = "\n".join([*head, *_body(draft.changes, phase)]) + "\n"
        if drops:
            rollback = "-- irreversible: the data of what it drops cannot come back\n"
        else:
            rollback = "\n".join([f"-- undoes {mid}", *_undo(draft.changes, phase)]) + "\n"
        files.append(GeneratedFile(mid, sql, rollback, transactional))
    return files


def write(folder: Path, files: list[GeneratedFile], layout: str = "yoyo") -> list[Path]:
    """Write the files in the folder's ``layout``, each created new (never over an existing file,
    nor through a symlink planted where it goes; sqitch's plan is appended to); their paths."""
    from ..errors import ConfigError
    from .layouts import layout_texts

    folder.mkdir(parents=True, exist_ok=True)
    if layout == "yoyo":
        texts = [(folder / f"{f.id}{suffix}", text) for f in files
                 for suffix, text in ((".sql", f.sql), (ROLLBACK_SUFFIX, f.rollback))]
    else:
        texts = layout_texts(layout, folder, files)
    appended = {folder / "sqitch.plan"} if layout == "sqitch" else set()
    for path, _ in texts:
        if path not in appended and (path.exists() or path.is_symlink()):
            raise ConfigError(f"{path} exists already: generate never overwrites a migration",
                              hint="give another --name, or remove the file")
    for path, text in texts:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path in appended:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                ends = path.read_bytes().endswith(b"\n") or not path.stat().st_size
                handle.write(("" if ends else "\n") + text)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    return [path for path, _ in texts]
