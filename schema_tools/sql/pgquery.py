"""libpg_query, PostgreSQL's own parser, called through ctypes in the library pglast ships: the
same three C functions pglast's ``parse_sql_json``, ``split`` and ``parse_plpgsql_json`` call,
without importing pglast's Python modules (its AST classes and enums took a cold ``lint`` a
tenth of its time). Where that library cannot be loaded so, pglast's own functions answer; where
pglast is not installed (Windows), ``available()`` is False.

The structures below are libpg_query's ``pg_query.h`` (unchanged since its 10-1.0 release).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any, NamedTuple


class ParseError(Exception):
    """The parser refuses the text: ``args`` are its message and the 0-based character index
    where it stopped (None when it names no place), as pglast's ParseError has them."""


class _Error(ctypes.Structure):
    _fields_ = [("message", ctypes.c_char_p), ("funcname", ctypes.c_char_p), ("filename", ctypes.c_char_p),
                ("lineno", ctypes.c_int), ("cursorpos", ctypes.c_int), ("context", ctypes.c_char_p)]


class _ParseResult(ctypes.Structure):
    _fields_ = [("parse_tree", ctypes.c_char_p), ("stderr_buffer", ctypes.c_char_p), ("error", ctypes.POINTER(_Error))]


class _PlpgsqlResult(ctypes.Structure):
    _fields_ = [("plpgsql_funcs", ctypes.c_char_p), ("error", ctypes.POINTER(_Error))]


class _SplitStmt(ctypes.Structure):
    _fields_ = [("stmt_location", ctypes.c_int), ("stmt_len", ctypes.c_int)]


class _SplitResult(ctypes.Structure):
    _fields_ = [("stmts", ctypes.POINTER(ctypes.POINTER(_SplitStmt))), ("n_stmts", ctypes.c_int),
                ("stderr_buffer", ctypes.c_char_p), ("error", ctypes.POINTER(_Error))]


class _Parser(NamedTuple):
    """The parser's three entry points: text in, JSON (or byte ranges) out; ParseError else."""

    parse_json: Callable[[str], bytes]
    plpgsql_json: Callable[[str], bytes]
    split: Callable[[str], list[slice]]


def available() -> bool:
    """True when PostgreSQL's parser can be called here."""
    return _parser() is not None


def parse_json(text: str) -> bytes:
    """libpg_query's JSON parse tree of ``text`` (``{"version": ..., "stmts": [...]}``), from
    the texts parsed ahead when it is one (``ahead``), else parsed here."""
    if _lookahead is not None:
        ready = _lookahead(text)
        if ready is not None:
            return ready
    return _require().parse_json(text)


def parse_json_here(text: str) -> bytes:
    """``parse_json``, parsed by this process."""
    return _require().parse_json(text)


_lookahead: Callable[[str], bytes | None] | None = None


def set_lookahead(take: Callable[[str], bytes | None] | None) -> None:
    """Where ``parse_json`` first looks for a text's tree (None: nowhere)."""
    global _lookahead
    _lookahead = take


def plpgsql_json(text: str) -> bytes:
    """libpg_query's JSON plpgsql trees of the functions ``text`` creates."""
    return _require().plpgsql_json(text)


def split(text: str) -> list[slice]:
    """Where each statement of ``text`` is, as the parser cuts it: a slice of ``text`` per
    statement, without the whitespace around it (pglast's ``split(text, only_slices=True)``)."""
    return _require().split(text)


def _require() -> _Parser:
    parser = _parser()
    if parser is None:
        raise ImportError("PostgreSQL's parser (pglast) is not installed")
    return parser


SUPPORTED = ("v7.", "v8.")  # pglast majors whose libpg_query has the structures below (pyproject: pglast>=7,<9)


@functools.cache
def _parser() -> _Parser | None:
    """The library's functions when this pglast is one whose library is known to have them and
    they answer the probes as the parser does (``behaves``), else pglast's own documented
    functions, else None. Decided once, before the first text is parsed."""
    from .grammar import pglast_version

    library = _library() if pglast_version().startswith(SUPPORTED) else None
    if library is not None:
        try:
            bound = _bound(library)
        except AttributeError:  # pragma: no cover -- a library without these functions
            bound = None
        if bound is not None and behaves(bound):
            return bound
    try:
        from pglast import parser as pglast_parser
    except ImportError:  # pragma: no cover -- no wheel for this platform
        return None
    return _pglast(pglast_parser)


def behaves(parser: _Parser) -> bool:
    """True when ``parser`` answers a few known texts exactly as PostgreSQL's parser does: a tree,
    statement places in bytes and in characters, a refusal and its place, a plpgsql body."""
    import orjson

    text = "SELECT 1; /* é */ SELECT 'ü' ;"
    try:
        tree = orjson.loads(parser.parse_json(text))
        stmts = tree.get("stmts") if isinstance(tree, dict) and isinstance(tree.get("version"), int) else None
        if not (isinstance(stmts, list) and [sorted(s["stmt"]) for s in stmts] == [["SelectStmt"]] * 2
                and [(s.get("stmt_location", 0), s["stmt_len"]) for s in stmts] == [(0, 8), (19, 12)]):
            return False
        if parser.split(text) != [slice(0, 8), slice(18, 28)]:
            return False
        body = orjson.loads(parser.plpgsql_json("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql "
                                                "AS $b$ BEGIN PERFORM 1; END $b$"))
        if not (isinstance(body, list) and len(body) == 1 and "PLpgSQL_function" in body[0]):
            return False
        try:
            parser.parse_json("SELECT 'é' FROM WHERE")
        except ParseError as exc:
            return exc.args == ('syntax error at or near "WHERE"', 16)
        return False
    except Exception:  # anything unexpected: not the parser these functions were written for
        return False


def _library() -> ctypes.CDLL | None:
    """pglast's compiled parser module, loaded as the plain shared library it also is."""
    from importlib.machinery import EXTENSION_SUFFIXES
    from importlib.util import find_spec
    from pathlib import Path

    try:
        spec = find_spec("pglast")
    except (ImportError, ValueError):  # pragma: no cover
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for suffix in EXTENSION_SUFFIXES:
            path = Path(folder) / f"parser{suffix}"
            if path.is_file():
                try:
                    return ctypes.CDLL(str(path))
                except OSError:  # pragma: no cover -- not a library this process can load
                    return None
    return None  # pragma: no cover -- an installation without the compiled module


def _bound(library: ctypes.CDLL) -> _Parser:
    def call(name: str, free_name: str, result: type[ctypes.Structure]) -> tuple[Any, Any]:
        function, free = getattr(library, name), getattr(library, free_name)
        function.argtypes, function.restype = [ctypes.c_char_p], result
        free.argtypes, free.restype = [result], None
        return function, free

    parse, free_parse = call("pg_query_parse", "pg_query_free_parse_result", _ParseResult)
    plpgsql, free_plpgsql = call("pg_query_parse_plpgsql", "pg_query_free_plpgsql_parse_result", _PlpgsqlResult)
    cut, free_cuts = call("pg_query_split_with_parser", "pg_query_free_split_result", _SplitResult)

    def refused(text: str, error: Any) -> ParseError:
        index = error.contents.cursorpos - 1
        return ParseError(error.contents.message.decode(), index if 0 <= index < len(text) else None)

    def parse_json(text: str) -> bytes:
        result = parse(text.encode())
        try:
            if result.error:
                raise refused(text, result.error)
            return result.parse_tree  # type: ignore[no-any-return]
        finally:
            free_parse(result)

    def plpgsql_json(text: str) -> bytes:
        result = plpgsql(text.encode())
        try:
            if result.error:
                raise refused(text, result.error)
            return result.plpgsql_funcs  # type: ignore[no-any-return]
        finally:
            free_plpgsql(result)

    def split(text: str) -> list[slice]:
        raw = text.encode()
        result = cut(raw)
        try:
            if result.error:
                raise refused(text, result.error)
            ranges = [(s.contents.stmt_location, s.contents.stmt_location + s.contents.stmt_len)
                      for s in result.stmts[:result.n_stmts]]
        finally:
            free_cuts(result)
        slices = []
        for start, end in ranges:  # byte ranges: as characters, stripped as pglast strips them
            piece = raw[start:end].decode()
            first = start if len(raw) == len(text) else len(raw[:start].decode())
            slices.append(slice(first + len(piece) - len(piece.lstrip()), first + len(piece.rstrip())))
        return slices

    return _Parser(parse_json, plpgsql_json, split)


def _pglast(module: Any) -> _Parser:
    """The same three through pglast's own functions, its ParseError made ours."""
    def translated(function: Callable[[str], Any]) -> Callable[[str], Any]:
        def call(text: str) -> Any:
            try:
                return function(text)
            except module.ParseError as exc:
                raise ParseError(*exc.args) from None
        return call

    return _Parser(translated(lambda t: module.parse_sql_json(t).encode()),
                   translated(lambda t: module.parse_plpgsql_json(t).encode()),
                   translated(lambda t: list(module.split(t, only_slices=True))))
