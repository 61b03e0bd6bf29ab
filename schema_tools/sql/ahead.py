"""Texts parsed ahead, in a child process: PostgreSQL's parser is C, so while this process folds
and checks one migration, the next files are parsed on another core and only their JSON trees
come back, in order, through a pipe (``pgquery.parse_json`` asks here first). Only on Linux,
with fork, a second core and no other thread in the process (counted by the kernel, C threads
too: fork would copy them half-way); otherwise, and for a text that is not the next one expected,
the text is parsed here as usual: the answers are the same.

The child never outlives the ``parsed_ahead`` block: it is killed and reaped on the way out,
whatever way that is; if this process dies first, the child's next write finds no reader and it
exits (it runs nothing but the parser and its writes, and leaves by ``os._exit``).
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from . import pgquery

_FRAME = struct.Struct("<cI")  # b"J" JSON | b"E" refusal (message and index as JSON) | b"X" parse it here; length
MIN_TEXTS = 8  # fewer files are not worth a process


@contextmanager
def parsed_ahead(texts: Sequence[str]) -> Iterator[None]:
    """While inside, ``texts`` (in the order they will be asked) are parsed by a child process."""
    reader = _start(texts) if len(texts) >= MIN_TEXTS and _may_fork() else None
    if reader is None:
        yield
        return
    try:
        pgquery.set_lookahead(reader.take)
        yield
    finally:
        pgquery.set_lookahead(None)
        reader.close()


def _may_fork() -> bool:
    """Linux's fork, another core to parse on, PostgreSQL's parser at hand, and this thread the
    process's only one (a forked copy of another would be stopped half-way through its work)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or _cores() < 2:
        return False
    return _threads() == 1 and pgquery.available()


def _threads() -> int:
    """How many threads this process has, as the kernel counts them (0: not known)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover -- no /proc: not known, so no fork
        return 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover -- not Linux
        return os.cpu_count() or 1


class _Reader:
    """The parent's end: each text's answer, read when that text is asked."""

    def __init__(self, texts: Sequence[str], pid: int, fd: int) -> None:
        self.pid, self.pipe, self.next = pid, os.fdopen(fd, "rb"), 0
        self.places: dict[str, list[int]] = {}  # where each text is in the order parsed
        for place, text in enumerate(texts):
            self.places.setdefault(text, []).append(place)

    def take(self, text: str) -> bytes | None:
        """The JSON of ``text`` when the child parses it (a refusal raises ParseError as the
        parser would); None: parse it here. Answers for texts skipped on the way are dropped."""
        place = next((p for p in self.places.get(text, ()) if p >= self.next), None)
        if place is None:
            return None
        while self.next <= place:
            answer = self._read()
            self.next += 1
        if isinstance(answer, pgquery.ParseError):
            raise answer
        return answer

    def _read(self) -> bytes | pgquery.ParseError | None:
        head = self.pipe.read(_FRAME.size)
        if len(head) != _FRAME.size:  # the child is gone: parse here from now on
            self.places.clear()
            return None
        kind, size = _FRAME.unpack(head)
        payload = self.pipe.read(size)
        if len(payload) != size:  # pragma: no cover -- the child died mid-answer
            self.places.clear()
            return None
        if kind == b"E":
            import orjson

            return pgquery.ParseError(*orjson.loads(payload))
        return payload if kind == b"J" else None

    def close(self) -> None:
        self.pipe.close()
        _end(self.pid)


def _end(pid: int) -> None:
    """The child killed, wherever it is, and reaped."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover -- already gone (still to be reaped)
        pass
    os.waitpid(pid, 0)


def _start(texts: Sequence[str]) -> _Reader | None:
    try:
        read_fd, write_fd = os.pipe()
    except OSError:  # pragma: no cover -- no descriptors to spare: parse here
        return None
    try:
        pid = os.fork()
    except OSError:  # pragma: no cover -- no process to spare: parse here
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: parse, write, and leave without running anything of the parent's
        try:
            os.close(read_fd)
            _parse_all(texts, write_fd)
        finally:
            os._exit(0)
    try:
        os.close(write_fd)
        return _Reader(texts, pid, read_fd)
    except BaseException:  # pragma: no cover -- (memory): no child left behind
        _end(pid)
        raise


def _parse_all(texts: Sequence[str], fd: int) -> None:
    import orjson

    parse = pgquery.parse_json_here
    with os.fdopen(fd, "wb") as pipe:
        for text in texts:
            try:
                kind, payload = b"J", parse(text)
            except pgquery.ParseError as exc:
                kind, payload = b"E", orjson.dumps(list(exc.args))
            except Exception:  # the parent meets it again, parsing this text itself
                kind, payload = b"X", b""
            pipe.write(_FRAME.pack(kind, len(payload)) + payload)
            pipe.flush()
