"""progress.log, the one grammar: a function per line kind to write it, a tolerant streaming
reader that classifies each line back into an ``Event``, and the append-only file writer.

The format is the original loop's (``tests/fixtures/seed_progress.log``)::

    [2026-01-24T19:46:14.687089] === Ralph Loop Started (max 3 iterations) ===
    [2026-01-24T19:46:14.690090] Iteration 1: SCHEMA-001 - Database schema migration - Core tables
    [2026-01-24T19:46:18.730389] Iteration 1 completed successfully
    [...] Iteration 2 completed with issues
        - a finding, one per indented line
    [...] === Ralph Loop Ended ===
    [2026-01-24T20:19:46+05:30] SCHEMA-001 completed
    - a bullet

Whatever the writers produce, the reader gives back as the same event (a property test checks
it). The reader never fails on a line: what it cannot read is classified ``unknown`` (text it does
not recognise) or ``unreadable`` (not UTF-8, or binary), counted, and kept. It holds one line
at a time, so memory stays flat however long the log is.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Literal
from pathlib import Path
from typing import NamedTuple

ITERATION = re.compile(r"Iteration (\d+)(?:: (\S+)(?: - (.*?))?| completed (successfully|with issues)(?::\s*(.*?))?)\s*$")
LOOP = re.compile(r"=== Ralph Loop (?:Started \(max (\d+) iterations?\) ===|Ended(?: \((.*)\))? ===\s*(.*?))\s*$")
STORY_DONE = re.compile(r"(\S+) completed\s*$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\udc80-\udcff]")
CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\udc80-\udcff\u2028\u2029\x85]")

# Event kinds
RUN_START, RUN_END, ITER_START, ITER_END = "run_start", "run_end", "iteration_start", "iteration_end"
FINDING, STORY_COMPLETED, BULLET, COMMENT, BLANK = "finding", "story_completed", "bullet", "comment", "blank"
NOTE = "note"
UNKNOWN, UNREADABLE = "unknown", "unreadable"


class Event(NamedTuple):
    """One line of the log, classified. ``a`` and ``b`` depend on the kind:

    run_start: max iterations, -; run_end: reason, -; iteration_start: (number, story), title;
    iteration_end: (number, outcome), detail; finding/bullet/comment/unknown: text, -;
    story_completed: story id, -.
    """

    kind: str
    line: int
    stamp: str
    a: object = None
    b: object = None
    at: datetime | None = None


_new = tuple.__new__
OUTCOME_TEXT = {"success": "completed successfully", "issues": "completed with issues"}


# --- writing: one function per line kind --------------------------------------------------------


def stamp(at: datetime | None = None) -> str:
    """ISO 8601 with microseconds and the UTC offset, always (now, unless ``at`` is given)."""
    return (at or datetime.now()).astimezone().isoformat(timespec="microseconds")


def _clean(text: str) -> str:
    """One line of printable text: control characters (newlines included) become spaces."""
    return CONTROL_OR_NEWLINE.sub(" ", text).strip()


def stamped(body: str, at: datetime | None = None) -> str:
    """``[stamp] body``: every line of the loop's own but findings and bullets."""
    return f"[{stamp(at)}] {body}"


def run_started(max_iterations: int) -> str:
    return f"=== Ralph Loop Started (max {max_iterations} iterations) ==="


def run_ended(reason: str | None = None) -> str:
    reason = _clean(reason or "")
    return f"=== Ralph Loop Ended ({reason}) ===" if reason else "=== Ralph Loop Ended ==="


def iteration_started(number: int, story: str, title: str) -> str:
    """``Iteration N: STORY - title``; a story id holds no spaces (stories.py checks it)."""
    title = _clean(title)
    return f"Iteration {number}: {story} - {title}" if title else f"Iteration {number}: {story}"


def iteration_ended(number: int, outcome: Literal["success", "issues"]) -> str:
    return f"Iteration {number} {OUTCOME_TEXT[outcome]}"


def note(text: str) -> str:
    """``Note: ...``: something a reader of the run should know (the sandbox it had, ...)."""
    return f"Note: {_clean(text)}"


def story_completed(story: str) -> str:
    return f"{story} completed"


def finding(text: str) -> str:
    """An indented ``- finding`` under an iteration that completed with issues (not stamped)."""
    return f"    - {_clean(text)}"


def bullet(text: str) -> str:
    """A ``- note`` of a completion block (not stamped)."""
    return f"- {_clean(text)}"


# --- reading ------------------------------------------------------------------------------------


_fromisoformat = datetime.fromisoformat


def parse_stamp(text: str) -> datetime | None:
    """A log timestamp (naive, with offset, or a date alone), or None when it is not one."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _body(rest: str) -> tuple[str, object, object] | None:
    """What a stamped line says after its stamp: (kind, a, b), or None when it is not an event."""
    if rest[:10] == "Iteration ":
        head, _, tail = rest[10:].partition(" ")
        if tail == "completed successfully" and head.isdigit():
            return ITER_END, (int(head), "success"), None
        if tail == "completed with issues" and head.isdigit():
            return ITER_END, (int(head), "issues"), None
        if head[-1:] == ":" and head[:-1].isdigit():
            story, _, title = tail.partition(" - ")
            if story and " " not in story and title[-1:] != " ":
                return ITER_START, (int(head[:-1]), story), title
    elif rest == "=== Ralph Loop Ended ===":
        return RUN_END, None, None
    elif rest[:6] == "Note: ":
        return NOTE, rest[6:].strip(), None
    rest = rest.strip()
    match = ITERATION.match(rest) if rest.startswith("Iteration ") else None
    if match is not None:
        if match.group(4):
            outcome = "success" if match.group(4) == "successfully" else "issues"
            return ITER_END, (int(match.group(1)), outcome), match.group(5)
        return ITER_START, (int(match.group(1)), match.group(2)), match.group(3) or ""
    match = LOOP.match(rest) if rest.startswith("=== Ralph Loop ") else None
    if match is not None:
        if match.group(1):
            return RUN_START, int(match.group(1)), None
        return RUN_END, match.group(2) or match.group(3) or None, None
    match = STORY_DONE.match(rest)
    return (STORY_COMPLETED, match.group(1), None) if match else None


# Stamped lines repeat their bodies ("Iteration 1 completed successfully", the same story
# titles...), so a bounded cache of _body answers turns most lines into one dict lookup.
_BODIES: dict[str, tuple[str, object, object] | None] = {}
_BODIES_MAX = 4096


def classify(text: str, number: int) -> Event:
    """Classify one decoded line (without its line ending). Flat on purpose: it runs per line."""
    if text[:1] == "[":
        close = text.find("] ", 1)
        stamp = text[1:close] if close > 0 else ""
        try:
            at = _fromisoformat(stamp)
        except ValueError:
            return _new(Event, (UNKNOWN, number, "", text, None, None))
        rest = text[close + 2:]
        try:
            body = _BODIES[rest]
        except KeyError:
            body = _body(rest)
            if len(_BODIES) >= _BODIES_MAX:
                _BODIES.clear()
            _BODIES[rest] = body
        if body is None:
            return _new(Event, (UNKNOWN, number, "", text, None, None))
        return _new(Event, (body[0], number, stamp, body[1], body[2], at))
    if not text or text.isspace():
        return _new(Event, (BLANK, number, "", None, None, None))
    stripped = text.lstrip()
    if text[:1] == "#":
        return _new(Event, (COMMENT, number, "", text, None, None))
    if stripped[:2] == "- " or stripped == "-":
        kind = FINDING if len(text) > len(stripped) else BULLET
        return _new(Event, (kind, number, "", stripped[2:].strip(), None, None))
    if text[:1] in " \t":
        return _new(Event, (FINDING, number, "", stripped, None, None))
    return _new(Event, (UNKNOWN, number, "", text, None, None))


def read_events(stream: Iterable[str]) -> Iterator[Event]:
    """Classify every line of a text stream (decoded with surrogateescape), one at a time."""
    control, classify_line = CONTROL.search, classify  # local names: this loop runs once per line
    stream = iter(stream)
    first = next(stream, None)
    lines = itertools.chain([first.removeprefix("\ufeff")], stream) if first is not None else iter(())
    for number, text in enumerate(lines, start=1):
        text = text.rstrip("\r\n")
        if not text.isprintable() and control(text):
            bad = any("\udc80" <= ch <= "\udcff" for ch in text)
            yield _new(Event, (UNREADABLE, number, "", "not UTF-8" if bad else "binary data", None, None))
            continue
        yield classify_line(text, number)


def read_log(path: Path) -> Iterator[Event]:
    """The events of a progress.log file."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        yield from read_events(stream)


class ProgressLog:
    """Append-only writer: one whole line per write, flushed and fsynced, never rewritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, *lines: str) -> None:
        """Append lines; each goes out in a single write so a crash never leaves half a line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for line in lines:
                os.write(fd, (line.replace("\n", " ").rstrip() + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
