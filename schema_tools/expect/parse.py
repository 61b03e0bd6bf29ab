"""Expectation files: TOML, strict. Unknown keys and malformed values are refused with the file,
the line and the fix.

TOML (not JSON) because people write these by hand and read them in review: comments, no
trailing-comma traps, and the same file format as pyproject.toml and the stories file.

    [tables.sessions]
    columns = ["id", "user_id", "tenant_id", "service"]      # must exist
    columns.expires_at = "timestamptz not null"              # or with type and nullability
    primary_key = ["id"]
    unique = [["user_id", "tenant_id", "service"]]
    indexed = ["tenant_id", ["tenant_id", "expires_at"]]     # a valid index leads with these
    foreign_keys = [{columns = ["user_id"], references = "users(id)", on_delete = "cascade"}]
    allowed_values.role = ["owner", "admin", "member"]      # enforced by a CHECK
    indexes.sessions_expires_at_idx = {keys = ["expires_at"], unique = false}
    only_columns = true                                       # no columns beyond those listed

A stories file holds the same tables under each story: ``[stories.expect.tables.NAME]``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation

TABLE_KEYS = ("columns", "only_columns", "primary_key", "unique", "indexed", "foreign_keys",
              "allowed_values", "indexes")
COLUMN_KEYS = ("type", "not_null", "nullable", "default", "identity")
FK_KEYS = ("columns", "references", "on_delete", "on_update", "deferrable")
INDEX_KEYS = ("keys", "unique", "method", "where")
ACTIONS = ("no action", "restrict", "cascade", "set null", "set default")
HEADER = re.compile(r'^\s*\[\[?\s*[A-Za-z0-9_."-]+\s*\]\]?\s*(#.*)?$')
REFERENCE = re.compile(r"^\s*([\w.\"]+)\s*\(\s*([^)]*)\)\s*$")


class _Source:
    """The file being read, to point errors at a line (headers indexed once)."""

    def __init__(self, path: Path, text: str, header_prefix: str):
        self.path, self.lines, self.prefix = path, text.splitlines(), header_prefix
        self.headers: dict[str, list[int]] = {}
        self.ends: dict[int, int] = {}
        starts = [i for i, line in enumerate(self.lines) if HEADER.match(line)]
        for i, nxt in zip(starts, starts[1:] + [len(self.lines)]):
            name = self.lines[i].strip().strip("[]").strip().replace('"', "")
            self.headers.setdefault(name, []).append(i)
            self.ends[i] = nxt

    def line(self, table: str, key: str | None = None, occurrence: int = 0) -> int:
        starts = self.headers.get(f"{self.prefix}tables.{table}")
        if not starts:
            inline = [i for i, line in enumerate(self.lines) if re.match(rf"^\s*\"?{re.escape(table)}\"?\s*[.=]", line)]
            return inline[0] + 1 if inline else 1
        start = starts[min(occurrence, len(starts) - 1)]
        if key:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*[.=]")
            for i in range(start + 1, self.ends[start]):
                if pattern.match(self.lines[i]):
                    return i + 1
        return start + 1

    def error(self, message: str, fix: str, table: str, key: str | None = None, occurrence: int = 0) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(table, key, occurrence)}: {message}", hint=fix)


def _names(value: Any, src: _Source, table: str, key: str, occ: int) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise src.error(f"{table}.{key} must be a column name or a list of column names, not {value!r}",
                    f'write {key} = ["a", "b"]', table, key, occ)


def _name_lists(value: Any, src: _Source, table: str, key: str, occ: int) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        raise src.error(f"{table}.{key} must be a list", f'write {key} = ["a", ["b", "c"]]', table, key, occ)
    return tuple(_names(v, src, table, key, occ) for v in value)


def _unknown(keys: dict[str, Any], allowed: tuple[str, ...], src: _Source, table: str, where: str, occ: int) -> None:
    for key in keys:
        if key not in allowed:
            raise src.error(f"unknown key {key!r} in {where}", f"use one of: {', '.join(allowed)}", table,
                            key if where == f"tables.{table}" else where.split(".")[-1], occ)


def _column(name: str, spec: Any, src: _Source, table: str, occ: int) -> ColumnSpec:
    if isinstance(spec, str):
        words = spec.strip().lower()
        not_null: bool | None = None
        if words.endswith(" not null"):
            words, not_null = words[: -len(" not null")], True
        elif words.endswith(" null"):
            words, not_null = words[: -len(" null")], False
        if not words:
            raise src.error(f"column {table}.{name}: empty type", 'write "text not null" or "bigint"', table, "columns", occ)
        return ColumnSpec(name, words, not_null)
    if not isinstance(spec, dict):
        raise src.error(f"column {table}.{name} must be a type string or a table, not {spec!r}",
                        'write columns.NAME = "text not null" or {type = "text", not_null = true}', table, "columns", occ)
    _unknown(spec, COLUMN_KEYS, src, table, f"columns.{name}", occ)
    for key in ("not_null", "nullable", "identity"):
        if key in spec and not isinstance(spec[key], bool):
            raise src.error(f"columns.{name}.{key} must be true or false", f"write {key} = true", table, "columns", occ)
    for key in ("type", "default"):
        if key in spec and not isinstance(spec[key], str):
            raise src.error(f"columns.{name}.{key} must be a string", f'write {key} = "..."', table, "columns", occ)
    not_null = spec.get("not_null", None if "nullable" not in spec else not spec["nullable"])
    return ColumnSpec(name, spec.get("type"), not_null, spec.get("default"), spec.get("identity"))


def _columns(value: Any, src: _Source, table: str, occ: int) -> tuple[ColumnSpec, ...]:
    if value == []:
        return ()
    if isinstance(value, list):
        return tuple(ColumnSpec(n) for n in _names(value, src, table, "columns", occ))
    if isinstance(value, dict):
        return tuple(_column(name, spec, src, table, occ) for name, spec in value.items())
    raise src.error(f"{table}.columns must be a list of names or a table of name = type",
                    'write columns = ["id", "name"] or columns.name = "text not null"', table, "columns", occ)


def _foreign_key(spec: Any, src: _Source, table: str, occ: int) -> ForeignKeySpec:
    if not isinstance(spec, dict):
        raise src.error(f"{table}.foreign_keys entries must be tables",
                        'write {columns = ["a"], references = "t(id)", on_delete = "cascade"}', table, "foreign_keys", occ)
    _unknown(spec, FK_KEYS, src, table, "foreign_keys", occ)
    match = REFERENCE.match(str(spec.get("references", "")))
    if "columns" not in spec or not match:
        raise src.error(f"{table}.foreign_keys entry needs columns and references = \"table(column, ...)\"",
                        'write {columns = ["tenant_id"], references = "tenants(id)"}', table, "foreign_keys", occ)
    for key in ("on_delete", "on_update"):
        if key in spec and str(spec[key]).lower() not in ACTIONS:
            raise src.error(f"{table}.foreign_keys {key} = {spec[key]!r} is not an action",
                            f"use one of: {', '.join(ACTIONS)}", table, "foreign_keys", occ)
    return ForeignKeySpec(_names(spec["columns"], src, table, "foreign_keys", occ), match.group(1).strip('"'),
                          tuple(c.strip().strip('"') for c in match.group(2).split(",") if c.strip()),
                          str(spec["on_delete"]).lower() if "on_delete" in spec else None,
                          str(spec["on_update"]).lower() if "on_update" in spec else None,
                          spec.get("deferrable"))


def _index(name: str, spec: Any, src: _Source, table: str, occ: int) -> IndexSpec:
    if not isinstance(spec, dict):
        raise src.error(f"{table}.indexes.{name} must be a table", 'write {keys = ["a"], unique = true}', table, "indexes", occ)
    _unknown(spec, INDEX_KEYS, src, table, f"indexes.{name}", occ)
    keys = _names(spec["keys"], src, table, "indexes", occ) if "keys" in spec else None
    return IndexSpec(name, keys, spec.get("unique"), spec.get("method"), spec.get("where"))


def _allowed(value: Any, src: _Source, table: str, occ: int) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                              for v in value.values()):
        raise src.error(f"{table}.allowed_values must map columns to lists of values",
                        'write allowed_values.role = ["owner", "admin"]', table, "allowed_values", occ)
    return {col: tuple(vals) for col, vals in value.items()}


def _table(name: str, spec: Any, src: _Source, label: str, occ: int) -> TableExpectation:
    if not isinstance(spec, dict):
        raise src.error(f"tables.{name} must be a table", f"write [{src.prefix}tables.{name}]", name, None, occ)
    _unknown(spec, TABLE_KEYS, src, name, f"tables.{name}", occ)
    if "only_columns" in spec and not isinstance(spec["only_columns"], bool):
        raise src.error(f"{name}.only_columns must be true or false", "write only_columns = true", name, "only_columns", occ)
    indexes = spec.get("indexes", {})
    if not isinstance(indexes, dict):
        raise src.error(f"{name}.indexes must be a table of index names", "write indexes.NAME = {keys = [...]}", name, "indexes", occ)
    fks = spec.get("foreign_keys", [])
    if not isinstance(fks, list):
        raise src.error(f"{name}.foreign_keys must be a list", "write foreign_keys = [{...}]", name, "foreign_keys", occ)
    return TableExpectation(
        table=name, source=str(src.path), line=src.line(name, None, occ), label=label,
        columns=_columns(spec.get("columns", []), src, name, occ),
        only_columns=spec.get("only_columns", False),
        primary_key=_names(spec["primary_key"], src, name, "primary_key", occ) if "primary_key" in spec else None,
        unique=_name_lists(spec.get("unique", []), src, name, "unique", occ),
        indexed=_name_lists(spec.get("indexed", []), src, name, "indexed", occ),
        foreign_keys=tuple(_foreign_key(fk, src, name, occ) for fk in fks),
        allowed_values=_allowed(spec.get("allowed_values", {}), src, name, occ),
        indexes=tuple(_index(n, s, src, name, occ) for n, s in indexes.items()),
        lines={key: src.line(name, key, occ) for key in spec},
    )


def tables_from(data: Any, path: Path, text: str, label: str = "", prefix: str = "",
                seen: dict[str, int] | None = None) -> list[TableExpectation]:
    """The ``tables`` of one expectation document (or of one story's ``expect``); ``seen``
    counts earlier sections of the same table, to point errors at the right one."""
    seen = {} if seen is None else seen
    src = _Source(path, text, prefix)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {prefix}expect must be a table", hint=f"write [{prefix}tables.NAME] sections")
    extra = sorted(set(data) - {"tables"})
    if extra:
        key = re.compile(rf"^\s*\[*\s*{re.escape(prefix)}{re.escape(extra[0])}\b")
        line = next((i + 1 for i, text_line in enumerate(src.lines) if key.match(text_line)), 1)
        raise ConfigError(f"{path}:{line}: unknown key {extra[0]!r} in {prefix or 'the file'}",
                          hint=f"an expectation file holds [{prefix}tables.NAME] sections only")
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: tables must be a table of [tables.NAME] sections")
    found = []
    for name, spec in tables.items():
        found.append(_table(name, spec, src, label, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return found


def load_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file, with errors as one line (file, line, what to fix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", hint="check the path given to --expect") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the syntax at that line") from None


def load_expectations(path: Path) -> list[TableExpectation]:
    """Every table expectation in a file: a plain expectation file or a stories file."""
    data, text = load_toml(path)
    if "stories" in data:
        stories = data["stories"]
        if not isinstance(stories, list):
            raise ConfigError(f"{path}: stories must be an array of [[stories]] tables")
        found: list[TableExpectation] = []
        seen: dict[str, int] = {}
        for index, story in enumerate(stories):
            if isinstance(story, dict) and "expect" in story:
                found += tables_from(story["expect"], path, text, str(story.get("id", f"story {index + 1}")),
                                     "stories.expect.", seen)
        return found
    return tables_from(data, path, text)
