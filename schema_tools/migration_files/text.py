"""A migration file's text exactly as PostgreSQL would get it, or a refusal (exit 2, nothing run)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import MigrationError


def read_text(path: Path) -> str:
    """Only regular files (a FIFO is never waited on), UTF-8, no NUL byte (libpq would end the
    statement there and run the rest as if it were not written). A leading byte-order mark is
    not SQL: dropped."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise MigrationError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MigrationError(f"{path}: not a regular file", hint="a migration is a plain .sql file; remove this one")
        data = _read_all(fd)
    finally:
        os.close(fd)
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


def _read_all(fd: int) -> bytes:
    """Every byte of an open regular file (raw reads: no buffered file object for one read)."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
