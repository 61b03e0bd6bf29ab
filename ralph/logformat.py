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

An event is one of the typed tuples below, one class per line kind; the stamped ones carry the
stamp as written and as read. Whatever the writers produce, the reader gives back as the same
event (a property test checks it). The reader never fails on a line: what it cannot read is an
``Unknown`` (text it does not recognise) or ``Unreadable`` (not UTF-8, or binary) event. It holds
one line at a time, so memory stays flat however long the log is.

Two readers give the same events: ``read_events`` yields each, classified on its own line by
line; ``dispatch``, the fast one for whole logs, hands each event's fields to a handler of its
class without building it, and remembers (a bounded memo) what the texts that repeat read as.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeAlias

ITERATION = re.compile(r"Iteration (\d+)(?:: (\S+)(?: - (.*?))?| completed (successfully|with issues)(?::\s*(.*?))?)\s*$")
LOOP = re.compile(r"=== Ralph Loop (?:Started \(max (\d+) iterations?\) ===|Ended(?: \((.*)\))? ===\s*(.*?))\s*$")
STORY_DONE = re.compile(r"(\S+) completed\s*$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\udc80-\udcff]")
CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\udc80-\udcff\u2028\u2029\x85]")

Outcome: TypeAlias = Literal["success", "issues"]
OUTCOME_TEXT: dict[Outcome, str] = {"success": "completed successfully", "issues": "completed with issues"}


class RunStarted(NamedTuple):
    """``=== Ralph Loop Started (max N iterations) ===``; ``stamp`` as written, ``at`` as read."""

    line: int
    stamp: str
    at: datetime
    max_iterations: int


class RunEnded(NamedTuple):
    """``=== Ralph Loop Ended ===``, with the reason in brackets (or trailing words) if any."""

    line: int
    stamp: str
    at: datetime
    reason: str | None


class IterationStarted(NamedTuple):
    """``Iteration N: STORY - title``."""

    line: int
    stamp: str
    at: datetime
    number: int
    story: str
    title: str


class IterationEnded(NamedTuple):
    """``Iteration N completed successfully|with issues``, with a ``: detail`` if any."""

    line: int
    stamp: str
    at: datetime
    number: int
    outcome: Outcome
    detail: str | None


class StoryCompleted(NamedTuple):
    """``STORY completed``: the head of a completion block."""

    line: int
    stamp: str
    at: datetime
    story: str


class Note(NamedTuple):
    """``Note: text``."""

    line: int
    stamp: str
    at: datetime
    text: str


class Finding(NamedTuple):
    """An indented line (``    - text``): a finding under an outcome."""

    line: int
    text: str


class Bullet(NamedTuple):
    """``- text`` at the start of the line: a note of a completion block."""

    line: int
    text: str


class Comment(NamedTuple):
    """``# text``."""

    line: int
    text: str


class Blank(NamedTuple):
    """An empty line, or whitespace only."""

    line: int


class Unknown(NamedTuple):
    """A line of text the grammar does not know (a stamped one included, whole)."""

    line: int
    text: str


class Unreadable(NamedTuple):
    """A line that is not UTF-8, or holds control characters."""

    line: int
    reason: Literal["not UTF-8", "binary data"]


Stamped: TypeAlias = RunStarted | RunEnded | IterationStarted | IterationEnded | StoryCompleted | Note
Event: TypeAlias = Stamped | Finding | Bullet | Comment | Blank | Unknown | Unreadable
STAMPED = (RunStarted, RunEnded, IterationStarted, IterationEnded, StoryCompleted, Note)
EVENTS = (*STAMPED, Finding, Bullet, Comment, Blank, Unknown, Unreadable)

_new = tuple.__new__


# --- writing: one function per line kind --------------------------------------------------------


def stamp(at: datetime | None = None) -> str:
    """ISO 8601 with microseconds and the UTC offset, always (now, unless ``at`` is given)."""
    return (at or datetime.now()).astimezone().isoformat(timespec="microseconds")


def _clean(text: str) -> str:
    """One line of printable text: control characters (newlines included) become spaces."""
    return CONTROL_OR_NEWLINE.sub(" ", text).strip()


def printable(text: str) -> str:
    """``text`` as one line fit for a terminal: no control character (ANSI/OSC escapes included)."""
    return _clean(text)


def stamped(body: str, at: datetime | None = None) -> str:
    """``[stamp] body``: every line of the loop's own but findings and bullets."""
    return f"[{stamp(at)}] {body}"


def run_started(max_iterations: int) -> str:
    return f"=== Ralph Loop Started (max {max_iterations} iterations) ==="


def run_ended(reason: str | None = None) -> str:
    reason = _clean(reason or "")
    return f"=== Ralph Loop Ended ({reason}) ===" if reason else "=== Ralph Loop Ended ==="


def iteration_started(number: int, story: str, title: str) -> str:
    """``Iteration N: STORY - title``; a story id holds no spaces (harness/stories.py checks it)."""
    title = _clean(title)
    return f"Iteration {number}: {story} - {title}" if title else f"Iteration {number}: {story}"


def iteration_ended(number: int, outcome: Outcome) -> str:
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


def parse_stamp(text: str) -> datetime | None:
    """A log timestamp (naive, with offset, or a date alone), or None when it is not one."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# What a stamped line says after its stamp: the event's class and its fields after (line, stamp, at).
_Body: TypeAlias = "tuple[type[Stamped], tuple[object, ...]] | None"


def _body(rest: str) -> _Body:
    """What a stamped line says after its stamp, or None when it is not an event."""
    if rest[:10] == "Iteration ":
        head, _, tail = rest[10:].partition(" ")
        if tail == "completed successfully" and head.isdigit():
            return IterationEnded, (int(head), "success", None)
        if tail == "completed with issues" and head.isdigit():
            return IterationEnded, (int(head), "issues", None)
        if head[-1:] == ":" and head[:-1].isdigit():
            story, _, title = tail.partition(" - ")
            if story and " " not in story and title[-1:] != " ":
                return IterationStarted, (int(head[:-1]), story, title)
    elif rest == "=== Ralph Loop Ended ===":
        return RunEnded, (None,)
    elif rest[:6] == "Note: ":
        return Note, (rest[6:].strip(),)
    rest = rest.strip()
    match = ITERATION.match(rest) if rest.startswith("Iteration ") else None
    if match is not None:
        if match.group(4):
            outcome = "success" if match.group(4) == "successfully" else "issues"
            return IterationEnded, (int(match.group(1)), outcome, match.group(5))
        return IterationStarted, (int(match.group(1)), match.group(2), match.group(3) or "")
    match = LOOP.match(rest) if rest.startswith("=== Ralph Loop ") else None
    if match is not None:
        if match.group(1):
            return RunStarted, (int(match.group(1)),)
        return RunEnded, (match.group(2) or match.group(3) or None,)
    match = STORY_DONE.match(rest)
    return (StoryCompleted, (match.group(1),)) if match else None


def classify(text: str, number: int) -> Event:
    """Classify one decoded line (without its line ending)."""
    if not text.isprintable() and CONTROL.search(text):
        bad = any("\udc80" <= ch <= "\udcff" for ch in text)
        return _new(Unreadable, (number, "not UTF-8" if bad else "binary data"))
    if text[:1] == "[":
        close = text.find("] ", 1)
        at = parse_stamp(text[1:close]) if close > 0 else None
        body = _body(text[close + 2:]) if at is not None else None
        if at is None or body is None:
            return _new(Unknown, (number, text))
        return _new(body[0], (number, text[1:close], at) + body[1])
    if not text or text.isspace():
        return _new(Blank, (number,))
    if text[:1] == "#":
        return _new(Comment, (number, text))
    stripped = text.lstrip()
    if stripped[:2] == "- " or stripped == "-":
        if len(text) > len(stripped):
            return _new(Finding, (number, stripped[2:].strip()))
        return _new(Bullet, (number, stripped[2:].strip()))
    if text[:1] in " \t":
        return _new(Finding, (number, stripped))
    return _new(Unknown, (number, text))


def read_events(stream: Iterable[str]) -> Iterator[Event]:
    """Classify every line of a text stream (decoded with surrogateescape), one at a time: the
    plain reading, each line on its own (``dispatch`` gives the same fields, faster)."""
    lines = iter(stream)
    first = next(lines, None)
    if first is None:
        return
    for number, raw in enumerate(itertools.chain([first.removeprefix("\ufeff")], lines), start=1):
        yield classify(raw.rstrip("\r\n"), number)


def read_log(path: Path) -> Iterator[Event]:
    """The events of a progress.log file."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        yield from read_events(stream)


# The handlers ``dispatch`` calls: a stamped event's with (line, stamp, at, fields), any other's
# with (line, fields); ``fields`` is the tuple of the event's fields after those.
Handlers: TypeAlias = "Mapping[type[Event], Callable[..., object]]"
_Known: TypeAlias = "tuple[Callable[..., object], tuple[Any, ...]]"

# Lines repeat ("Iteration 1 completed successfully" after any stamp, the same story titles and
# findings...): ``dispatch`` remembers what a stamped line's text after its stamp, or a whole line
# without one, reads as, so most lines cost a lookup. Bounded: so many texts of so many characters.
_REMEMBERED, _REMEMBERED_CHARS = 4096, 512
_CHUNK = 1 << 16  # characters ``dispatch_log`` reads at a time
_LINE_END = re.compile(r"\r\n?|\n")
_ZONE = operator.attrgetter("tzinfo")


def stamp_style(stamp: str, at: datetime) -> str:
    """``offset`` (a time with its UTC offset), ``date`` (a date alone) or ``naive`` (a time without offset)."""
    return "offset" if at.tzinfo is not None else "date" if len(stamp) == 10 else "naive"


class Tally:
    """What a reader counts as it goes: the lines, the stamps of each style (in the order the
    styles first appear), the first stamp and the last."""

    def __init__(self) -> None:
        self.lines = 0
        self.styles: dict[str, int] = {}
        self.first = self.last = ""

    def stamp(self, stamp: str, at: datetime) -> None:
        style = stamp_style(stamp, at)
        self.styles[style] = self.styles.get(style, 0) + 1
        self.first = self.first or stamp
        self.last = stamp

    def stamps(self, stamps: list[str], ats: list[datetime]) -> None:
        """``stamp`` for each of ``stamps`` (and what they read as), in bulk: list methods count."""
        if not stamps:
            return
        zones = list(map(_ZONE, ats))
        offsets = len(zones) - zones.count(None)
        dates = 0
        if 10 in map(len, stamps):
            dates = sum(1 for stamp, zone in zip(stamps, zones) if zone is None and len(stamp) == 10)
        counts = {"offset": offsets, "date": dates, "naive": len(zones) - offsets - dates}
        styles = self.styles
        if any(n and style not in styles for style, n in counts.items()):  # styles appear in the order read
            for stamp, at in zip(stamps, ats):
                styles.setdefault(stamp_style(stamp, at), 0)
        for style, n in counts.items():
            if n:
                styles[style] += n
        self.first = self.first or stamps[0]
        self.last = stamps[-1]

    def count(self, event: Event) -> None:
        """Count one event (they come in order)."""
        self.lines = event.line
        if isinstance(event, STAMPED):
            self.stamp(event.stamp, event.at)


def deliver(event: Event, handlers: Handlers) -> None:
    """Hand one event to its handler, as ``dispatch`` does."""
    if isinstance(event, STAMPED):
        handlers[type(event)](event[0], event[1], event[2], event[3:])
    else:
        handlers[type(event)](event[0], event[1:])


def _lines(text: Iterable[str]) -> Iterator[list[str]]:
    r"""The lines of text given in pieces of any size, as a file opened with ``newline=""`` reads
    them (``\n``, ``\r\n`` or ``\r`` ends one), without their endings and without a BOM: a list
    of them for each piece."""
    carry, first = "", True
    for piece in text:
        piece = carry + piece
        held = "\r" if piece[-1:] == "\r" else ""  # maybe the first half of a \r\n
        if held:
            piece = piece[:-1]
        lines = _LINE_END.split(piece) if "\r" in piece else piece.split("\n")
        carry = lines.pop() + held
        if lines:
            if first:
                lines[0], first = lines[0].removeprefix("\ufeff"), False
            yield lines
    if carry:  # the last line, without an ending
        last = carry.removesuffix("\r")
        yield [last.removeprefix("\ufeff") if first else last]


def dispatch(text: Iterable[str], handlers: Handlers) -> Tally:
    """Read text (given in pieces of any size) as ``read_events`` reads its lines, but hand each
    event's fields to the handler of its class (see ``Handlers``) without building the event; what
    was read is tallied. Flat on purpose: the loop runs once per line."""
    bodies: dict[str, _Known] = {}  # a text after a stamp -> the handler, and the fields after (line, stamp, at)
    plain: dict[str, _Known] = {}  # a line -> the handler, and the fields after line
    fromisoformat = datetime.fromisoformat  # a local name
    tally = Tally()
    stamps: list[str] = []  # the stamps of a piece's lines, and what they read as: tallied a piece at a time
    ats: list[datetime] = []
    number = 0
    for lines in _lines(text):
        for raw in lines:
            number += 1
            if raw and raw[0] == "[":
                head, sep, rest = raw.partition("] ")
                known = bodies.get(rest) if sep else None
                if known is not None:
                    stamp = head[1:]
                    if stamp.isprintable():  # the rest was, or it would not be known
                        try:
                            at = fromisoformat(stamp)
                        except ValueError:
                            pass
                        else:
                            known[0](number, stamp, at, known[1])
                            stamps.append(stamp)
                            ats.append(at)
                            continue
                event = classify(raw, number)
                if isinstance(event, STAMPED) and len(rest) < _REMEMBERED_CHARS:
                    if len(bodies) >= _REMEMBERED:
                        bodies.clear()
                    bodies[rest] = handlers[type(event)], event[3:]
            else:
                seen = plain.get(raw)
                if seen is not None:
                    seen[0](number, seen[1])
                    continue
                event = classify(raw, number)
                if len(raw) < _REMEMBERED_CHARS:
                    if len(plain) >= _REMEMBERED:
                        plain.clear()
                    plain[raw] = handlers[type(event)], event[1:]
            deliver(event, handlers)
            if isinstance(event, STAMPED):
                stamps.append(event.stamp)
                ats.append(event.at)
        tally.stamps(stamps, ats)
        stamps.clear()
        ats.clear()
    tally.lines = number
    return tally


def dispatch_log(path: Path, handlers: Handlers) -> Tally:
    """``dispatch`` over a progress.log file, read a block at a time."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        return dispatch(iter(lambda: stream.read(_CHUNK), ""), handlers)


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
