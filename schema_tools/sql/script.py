"""A text of SQL statements (a migration file, a function body) read once by PostgreSQL's own
parser (libpg_query, through pglast): where each statement starts and ends, its parse tree, and
where the parser stops reading.

One parse of the whole text gives both the cuts and the trees. When the parser refuses the text
(a syntax error, which the server will report with its line anyway), or pglast is not installed
(Windows), the text is cut the way psql cuts it (``scanner.split``) and each statement parses
itself on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from . import pgquery, scanner
from .pgquery import ParseError
from .statement import UNPARSED, Statement
from .tree import Node


@dataclass(frozen=True)
class SyntaxProblem:
    """Where PostgreSQL's parser stops reading a text (1-based line and column)."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class Script:
    """The statements of a text, in order (pieces holding only comments are not statements),
    and the syntax error PostgreSQL's parser finds in it, if any."""

    statements: tuple[Statement, ...]
    problem: SyntaxProblem | None = None


Piece = tuple[int, str, "Node | None | object", int]  # char offset, text, tree (or UNPARSED), tree's byte offset


def read_script(text: str, *, trees: bool = True) -> Script:
    """The statements of ``text``, each with its file line and column and its tree (with
    ``trees=False`` each statement reads its own tree when first asked: the cuts cost no tree)."""
    readable = _without_restrict(text) if "restrict" in text else text
    rows = scanner.copy_rows(readable) if "stdin" in text.lower() else []
    pieces, error = _pieces(_blanked(readable, rows) if rows else readable, trees)
    problem = _problem(text, error)
    statements: list[Statement] = []
    starts: list[int] = []
    line, counted = 1, 0
    for offset, piece, tree, base in pieces:
        start = scanner.lead(piece)
        body = piece[start:].rstrip()
        if not body:
            continue
        line += scanner.line_breaks(text, counted, offset + start)
        counted = offset + start
        if start and tree is not UNPARSED:
            base += len(piece[:start].encode())
        statements.append(Statement(body, line, counted - scanner.line_start(text, counted) + 1, tree=tree, base=base))
        starts.append(counted)
    for semicolon, first, last in rows:  # each COPY's rows go to the statement its semicolon ends
        owner = max((i for i, start in enumerate(starts) if start < semicolon), default=None)
        if owner is not None:
            statements[owner].copy_data = text[first:last]
    return Script(tuple(statements), problem)


def syntax_problem(text: str) -> SyntaxProblem | None:
    """``read_script(text).problem`` without the statements: where PostgreSQL's parser stops
    reading ``text``, if it does (what lint asks of a rollback file)."""
    if not pgquery.available():  # pragma: no cover -- no parser: no problem found, as read_script
        return None
    readable = _without_restrict(text) if "restrict" in text else text
    rows = scanner.copy_rows(readable) if "stdin" in text.lower() else []
    try:
        pgquery.split(_blanked(readable, rows) if rows else readable)
    except ParseError as exc:
        return _problem(text, _refusal(text, exc))
    except (ValueError, RecursionError):
        return None
    return None


def _problem(text: str, error: tuple[int, str] | None) -> SyntaxProblem | None:
    if error is None:
        return None
    offset, message = error
    return SyntaxProblem(message, scanner.line_breaks(text, 0, offset) + 1, offset - scanner.line_start(text, offset) + 1)


def _refusal(text: str, exc: ParseError) -> tuple[int, str]:
    """Where the parser stopped (an offset within ``text``) and its message."""
    offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
    return max(0, min(offset, len(text))), str(exc.args[0])


_RESTRICT = re.compile(r"^\\(?:un)?restrict[ \t]+[A-Za-z0-9]+[ \t]*\r?$", re.MULTILINE)


def _without_restrict(text: str) -> str:
    """pg_dump's ``\\restrict KEY`` and ``\\unrestrict KEY`` lines (psql meta-commands that turn
    psql's own meta-commands off and on: nothing for the server) turned to spaces."""
    return _RESTRICT.sub(lambda m: " " * len(m.group()), text)


def _blanked(text: str, rows: list[tuple[int, int, int]]) -> str:
    """The text with COPY's inline rows (and their ``\\.``) turned to spaces, line breaks kept:
    what the parser reads, at the same offsets."""
    parts, done = [], 0
    for _, first, last in rows:
        end = text.find("\n", last)
        end = len(text) if end < 0 else end
        parts += [text[done:first], "".join(c if c == "\n" else " " for c in text[first:end])]
        done = end
    return "".join(parts) + text[done:]


def _pieces(text: str, trees: bool) -> tuple[list[Piece], tuple[int, str] | None]:
    """The statements' raw pieces, and where the parser refused the text: ``(offset, message)``."""
    if not pgquery.available():  # pragma: no cover
        return _scanned(text), None
    try:
        if not trees:
            return _sliced(text), None
        parsed = pgquery.parse_json(text)
    except ParseError as exc:
        return _scanned(text), _refusal(text, exc)
    except (ValueError, RecursionError):
        return _scanned(text), None
    try:
        stmts = orjson.loads(parsed).get("stmts") or []
    except (ValueError, RecursionError):  # a tree nested too deeply for JSON: cut exactly, parse one by one
        return _sliced(text), None
    return _cut(text, stmts), None


def _sliced(text: str) -> list[Piece]:
    """The parser's cuts without its trees (each statement parses itself when asked)."""
    return [(part.start, text[part], UNPARSED, 0) for part in pgquery.split(text)]


def _scanned(text: str) -> list[Piece]:
    return [(offset, piece, UNPARSED, 0) for offset, piece in scanner.split(text)]


def _cut(text: str, stmts: list[Node]) -> list[Piece]:
    """Each statement's piece of ``text``, from the parser's byte positions."""
    raw = text.encode()
    pieces: list[Piece] = []
    if len(raw) == len(text):  # ASCII: bytes and characters agree
        for s in stmts:
            start, length = s.get("stmt_location", 0), s.get("stmt_len")
            pieces.append((start, text[start:start + length] if length else text[start:], s.get("stmt"), start))
        return pieces
    chars, done = 0, 0  # characters before byte ``done``: counted once, in order
    for s in stmts:
        start, length = s.get("stmt_location", 0), s.get("stmt_len")
        chars += len(raw[done:start].decode())
        done = start
        pieces.append((chars, (raw[start:start + length] if length else raw[start:]).decode(), s.get("stmt"), start))
    return pieces
