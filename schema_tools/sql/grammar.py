"""The grammar we parse with: libpg_query's PostgreSQL version, and whether a statement the
server refused is one a newer PostgreSQL reads."""

from __future__ import annotations


def parser_versions() -> str:
    """pglast's version (and so libpg_query's grammar) and sqlglot's, each read from its files
    without importing it: what findings read from SQL depend on."""
    return f"pglast {pglast_version()}|sqlglot {_version_file('sqlglot', '_version.py')}"


def pglast_version() -> str:
    """pglast's ``__version__`` (``v8.8``), as its ``__init__.py`` sets it ("" when not installed)."""
    text = _version_file("pglast", "__init__.py")
    line = next((line for line in text.splitlines() if line.startswith("__version__ =")), "=")
    return line.split("=", 1)[1].strip().strip("'\"")


def _version_file(package: str, name: str) -> str:
    """The text of a file beside ``package``'s ``__init__.py`` ("" when there is none)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).with_name(name) if spec is not None and spec.origin else None
    return path.read_text() if path is not None and path.is_file() else ""


def newer_grammar(sql: str, server_major: int) -> int:
    """The newer PostgreSQL major whose grammar reads ``sql`` when the server (``server_major``)
    may not, else 0."""
    try:
        from pglast.parser import ParseError, get_postgresql_version, parse_sql
    except ImportError:  # pragma: no cover
        return 0
    newest = int(get_postgresql_version()[0])
    if server_major >= newest:
        return 0
    try:
        parse_sql(sql)
    except (ParseError, ValueError, RecursionError):
        return 0
    return newest
