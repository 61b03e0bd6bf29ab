"""Split SQL text into statements exactly as PostgreSQL reads them.

``statements`` uses PostgreSQL's own parser (libpg_query, through ``pglast``) when the text
parses, which is exact by construction. When it does not (a syntax error, which the server will
report with its line anyway) or pglast is not installed (Windows), ``split`` below does the job
the way psql does: a semicolon ends a statement unless it is inside a quoted string (``'...'``,
``E'...'``), a quoted identifier, a dollar-quoted body (``$$ ... $$``, ``$tag$ ... $tag$``), a
comment (``--``, nested ``/* */``), parentheses (``CREATE RULE ... DO (...; ...)``), or a
``BEGIN ATOMIC ... END`` routine body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

_TOKEN_PATTERN = (
    r"""
      (?P<line>--[^\n]*)
    | (?P<block>/\*)
    | (?P<estring>[eE]'(?:[^'\\]|\\.|'')*(?:'|$))
    | (?P<string>'(?:[^']|'')*(?:'|$))
    | (?P<ident>"(?:[^"]|"")*(?:"|$))
    | (?P<dollar>\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$)
    | (?P<word>[A-Za-z_\x80-\uffff][A-Za-z0-9_$\x80-\uffff]*)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<semi>;)
    """
)


@functools.cache
def token_pattern() -> re.Pattern[str]:
    """The tokenizer, compiled on first use (about 10 ms: not paid by commands that never split)."""
    return re.compile(_TOKEN_PATTERN, re.VERBOSE | re.DOTALL)


def block_comment_end(text: str, start: int) -> int:
    """Index just after the nested ``/* ... */`` comment opening at ``start``."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


_NEXT_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*([A-Za-z_]+)", re.DOTALL)


def _next_word(text: str, pos: int) -> str:
    match = _NEXT_WORD.match(text, pos)
    return match.group(1).lower() if match else ""


def statements(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, statement)`` for each statement, PostgreSQL's parser deciding where each ends
    when it can read the text, else ``split``."""
    yield from checked(text)[0]


def checked(text: str) -> tuple[list[tuple[int, str]], tuple[int, str] | None]:
    """``statements`` as a list, and where PostgreSQL's parser found a syntax error: ``(offset,
    message)``, or None when the text parses (or pglast is not installed)."""
    try:
        from pglast.parser import ParseError
        from pglast.parser import split as parser_split
    except ImportError:  # pragma: no cover -- no wheel for this platform
        return list(split(text)), None
    try:
        slices = parser_split(text, only_slices=True)
    except ParseError as exc:
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        return list(split(text)), (max(0, min(offset, len(text))), str(exc.args[0]))
    except (ValueError, RecursionError):
        return list(split(text)), None
    return [(part.start, text[part]) for part in slices], None


def _creates_routine(head: list[str]) -> bool:
    words = head[3:] if head[1:3] == ["or", "replace"] else head[1:2]
    return head[:1] == ["create"] and words[:1] in (["function"], ["procedure"])


def split(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, statement)`` for each statement, the statement without its ``;``.

    Text after the last semicolon is yielded as a statement too (psql would run it at the end
    of the file). Pieces holding only whitespace and comments are yielded as well; the caller
    decides what to do with them.
    """
    token = token_pattern()
    start = 0
    depth = 0
    begin_depth = 0
    head: list[str] = []  # the statement's first words, until we know if it creates a routine
    pos = 0
    length = len(text)
    while pos < length:
        match = token.search(text, pos)
        if match is None:
            break
        kind = match.lastgroup
        end = match.end()
        if kind == "block":
            end = block_comment_end(text, match.start())
        elif kind == "dollar":
            close = text.find(match.group(), end)
            end = length if close < 0 else close + len(match.group())
        elif kind == "word":
            word = match.group().lower()
            if len(head) < 4:
                head.append(word)
            if _creates_routine(head):
                if word == "begin" and depth == 0 and (begin_depth or _next_word(text, end) == "atomic"):
                    begin_depth += 1
                elif word == "case" and begin_depth:
                    begin_depth += 1
                elif word == "end" and begin_depth:
                    begin_depth -= 1
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif kind == "semi" and depth == 0 and begin_depth == 0:
            yield start, text[start:match.start()]
            start, head = end, []
        pos = end
    if start < length:
        yield start, text[start:]
