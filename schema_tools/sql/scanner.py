"""SQL read as tokens, without a parser: the fallback for text PostgreSQL's parser refuses (a
syntax error, which the server will report with its line anyway) or cannot be given (no pglast
wheel, as on Windows), and the lexical questions no tree answers (where comments are).

``split`` cuts a text the way psql does: a semicolon ends a statement unless it is inside a
quoted string (``'...'``, ``E'...'``), a quoted identifier, a dollar-quoted body (``$$ ... $$``,
``$tag$ ... $tag$``), a comment (``--``, nested ``/* */``), parentheses (``CREATE RULE ... DO
(...; ...)``), or a ``BEGIN ATOMIC ... END`` routine body.
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
    """Index just after the nested ``/* ... */`` comment opening at ``start`` (the text's end
    when it is never closed)."""
    end = closed_comment_end(text, start)
    return len(text) if end is None else end


def closed_comment_end(text: str, start: int) -> int | None:
    """Index just after the nested ``/* ... */`` comment opening at ``start``; None when it is
    never closed (PostgreSQL refuses the text: "unterminated /* comment")."""
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
    return None


_NEXT_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*([A-Za-z_]+)", re.DOTALL)


def _next_word(text: str, pos: int) -> str:
    match = _NEXT_WORD.match(text, pos)
    return match.group(1).lower() if match else ""


def line_breaks(text: str, start: int = 0, end: int | None = None) -> int:
    """How many lines end in ``text[start:end]``, as an editor counts them: at LF, CRLF or a lone
    CR (a form feed or U+2028 ends no line, for PostgreSQL or psql either)."""
    end = len(text) if end is None else end
    breaks = text.count("\n", start, end)
    if "\r" in text:
        breaks += text.count("\r", start, end) - text.count("\r\n", start, end)
    return breaks


def line_start(text: str, pos: int) -> int:
    """Where the line holding ``pos`` starts."""
    return max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1


def text_lines(text: str) -> list[str]:
    """The lines of ``text``, cut where ``line_breaks`` counts them."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def lead(text: str) -> int:
    """Where the first token after leading whitespace and comments (nested ones too) starts. A
    comment never closed is not skipped: it and what follows stay, for the server to refuse."""
    rest = text.lstrip()
    if not rest.startswith(("--", "/*")):  # the usual case: whitespace alone
        return len(text) - len(rest)
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline + 1
        elif text.startswith("/*", pos):
            end = closed_comment_end(text, pos)
            if end is None:
                break
            pos = end
        else:
            break
    return pos


def spans(text: str) -> Iterator[tuple[str, int, int]]:
    """``(kind, start, end)`` of each token (comments, strings and bodies whole), as ``split`` reads them."""
    token, pos = token_pattern(), 0
    while (match := token.search(text, pos)) is not None:
        kind, end = match.lastgroup or "", match.end()
        if kind == "block":
            end = block_comment_end(text, match.start())
        elif kind == "dollar":
            close = text.find(match.group(), end)
            end = len(text) if close < 0 else close + len(match.group())
        yield kind, match.start(), end
        pos = end


def folded(text: str) -> str:
    """The text without its comments, whitespace folded (as plan shows a statement); a comment
    never closed is kept, as the server reads (and refuses) it."""
    kept, last = [], 0
    for kind, start, end in spans(text):
        if kind == "line" or kind == "block" and closed_comment_end(text, start) is not None:
            kept.append(text[last:start] + " ")
            last = end
    return " ".join(("".join(kept) + text[last:]).split())


def names(text: str, depth: int = 0) -> list[str]:
    """Every word and quoted identifier of the text, as PostgreSQL would store it (unquoted
    words lower-cased), those inside its strings too (a DO or function body, an EXECUTE's SQL
    are strings); comments are skipped."""
    found = []
    for kind, start, end in spans(text):
        if kind == "word":
            found.append(text[start:end].lower())
        elif kind == "ident":
            found.append(text[start + 1:end - 1].replace('""', '"'))
        elif kind in STRINGS and depth < 4:
            found += names(string_content(text[start:end], text[max(start - 2, 0):start].lower() == "u&"), depth + 1)
    return found


def quote_depends_on_backslashes(text: str, depth: int = 0) -> int | None:
    """Where a string constant (``'...'``, in the text or in a body or string within it) holds a
    backslash before a quote, or ends with one: with standard_conforming_strings off the server
    would end that string elsewhere, and read what follows as other statements. None: nowhere.
    A text without a backslash has none to find (only a backslash escape decodes to one)."""
    if "\\" not in text:
        return None
    for kind, start, end in spans(text):
        if kind == "string":
            token = text[start:end]
            if "\\'" in token[:-1] or token[:-1].endswith("\\"):
                return start
        if kind in STRINGS and depth < 4:
            inner = quote_depends_on_backslashes(string_content(text[start:end]), depth + 1)
            if inner is not None:
                return start
    return None


STRINGS = ("string", "estring", "dollar")
"""The token kinds of string constants (a body, an EXECUTE's SQL...)."""


def string_content(quoted: str, unicode_escapes: bool = False) -> str:
    """What a string constant holds, as the server reads it: ``'it''s'`` -> ``it's``; ``$b$ ... $b$``
    -> `` ... ``; ``E'EXECUT\\x45'`` -> ``EXECUTE`` (every backslash escape decoded); with
    ``unicode_escapes`` (a ``U&'...'`` string), ``\\0045`` -> ``E``."""
    if quoted.startswith("$"):
        tag = quoted[:quoted.index("$", 1) + 1]
        return quoted[len(tag):-len(tag)] if quoted.endswith(tag) and len(quoted) >= 2 * len(tag) else quoted[len(tag):]
    escaped = quoted[:1] in "eE"
    body = quoted[2:] if escaped else quoted[1:]
    if escaped:
        return _E_ESCAPE.sub(_decoded, body[:-1] if body.endswith("'") and not body.endswith("\\'") else body)
    text = (body[:-1] if body.endswith("'") else body).replace("''", "'")
    return _U_ESCAPE.sub(_unicode, text) if unicode_escapes else text


_E_ESCAPE = re.compile(r"''|\\(?:x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_U_ESCAPE = re.compile(r"\\(?:\+[0-9A-Fa-f]{6}|[0-9A-Fa-f]{4}|\\)")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decoded(match: re.Match[str]) -> str:
    """One escape of an E'...' string, as PostgreSQL reads it."""
    text = match.group()
    if text == "''":
        return "'"
    kind = text[1]
    try:
        if kind == "x":
            return chr(int(text[2:], 16))
        if kind in "01234567":
            return chr(int(text[1:], 8))
        if kind in "uU" and len(text) > 2:
            return chr(int(text[2:], 16))
    except (ValueError, OverflowError):
        return text
    return _SIMPLE.get(kind, kind)


def _unicode(match: re.Match[str]) -> str:
    text = match.group()
    if text == "\\\\":
        return "\\"
    try:
        return chr(int(text[2:] if text[1] == "+" else text[1:], 16))
    except (ValueError, OverflowError):
        return text


def _creates_routine(head: list[str]) -> bool:
    words = head[3:] if head[1:3] == ["or", "replace"] else head[1:2]
    return head[:1] == ["create"] and words[:1] in (["function"], ["procedure"])


_ROWS_END = re.compile(r"^\\\.\r?$", re.MULTILINE)  # exactly "\.": psql sends "\. " on as a row


def copy_rows(text: str) -> list[tuple[int, int, int]]:
    """The rows given inline after each ``COPY ... FROM stdin;`` (as pg_dump writes them and psql
    reads them: from the next line to a line holding only ``\\.``, or the end of the text):
    ``(where the COPY's semicolon is, where the rows start, where they end)``."""
    found: list[tuple[int, int, int]] = []
    for _ in split(text, found):
        pass
    return found


def split(text: str, rows: list[tuple[int, int, int]] | None = None) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, statement)`` for each statement, the statement without its ``;``.

    Text after the last semicolon is yielded as a statement too (psql would run it at the end
    of the file). Pieces holding only whitespace and comments are yielded as well; the caller
    decides what to do with them. Rows given inline to ``COPY ... FROM stdin`` are skipped (and,
    with ``rows``, listed there as ``copy_rows`` says).
    """
    token = token_pattern()
    start = 0
    depth = 0
    begin_depth = 0
    head: list[str] = []  # the statement's first words, until we know if it creates a routine
    previous, from_stdin = "", False
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
            from_stdin = from_stdin or (word == "stdin" and previous == "from" and head[0] == "copy")
            previous = word
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
            start, head, previous = end, [], ""
            if from_stdin:
                newline = text.find("\n", end)
                first = length if newline < 0 else newline + 1
                terminator = _ROWS_END.search(text, first)
                last = length if terminator is None else terminator.start()
                end = start = length if terminator is None else min(terminator.end() + 1, length)
                if rows is not None:
                    rows.append((match.start(), first, last))
                from_stdin = False
        pos = end
    if start < length:
        yield start, text[start:]
