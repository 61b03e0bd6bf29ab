"""The grammar we parse with: libpg_query's PostgreSQL version, and whether a statement the
server refused is one a newer PostgreSQL reads."""

from __future__ import annotations


def parser_versions() -> str:
    """pglast's version (and so libpg_query's grammar) and sqlglot's, without importing sqlglot
    (its version is read from its file): what findings read from SQL depend on."""
    import importlib.util
    from pathlib import Path

    try:
        import pglast
    except ImportError:  # pragma: no cover -- no wheel for this platform
        pglast_version = ""
    else:
        pglast_version = str(pglast.__version__)
    spec = importlib.util.find_spec("sqlglot")
    version_file = Path(spec.origin).with_name("_version.py") if spec is not None and spec.origin else None
    sqlglot_version = version_file.read_text() if version_file is not None and version_file.is_file() else ""
    return f"pglast {pglast_version}|sqlglot {sqlglot_version}"


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
