"""Expectation files: TOML, strict. Unknown keys and malformed values are refused with the file,
the line and the fix (``tomlspec``).

TOML (not JSON) because people write these by hand and read them in review: comments, no
trailing-comma traps, and the same file format as pyproject.toml and the stories file.

    [tables.sessions]
    primary_key = ["id"]
    unique = [["user_id", "tenant_id", "service"]]
    indexed = ["tenant_id", ["tenant_id", "expires_at"]]     # a valid index leads with these
    foreign_keys = [{columns = ["user_id"], references = "users(id)", on_delete = "cascade"}]
    allowed_values.role = ["owner", "admin", "member"]      # enforced by a CHECK
    indexes.sessions_expires_at_idx = {keys = ["expires_at"], unique = false}
    only_columns = true                                       # no columns beyond those listed
    triggers = ["sessions_touch"]                             # exactly these triggers ([]: none)
    checks = ["expires_at > created_at"]                      # a validated CHECK states each (by meaning)
    comment = "Login sessions"                                # COMMENT ON TABLE, exactly (columns: comment = "...")
    # columns: either a list of names that must exist ...
    columns = ["id", "user_id", "tenant_id", "service"]
    # ... or, instead (not both: TOML refuses a key given twice), each with its type:
    # columns.expires_at = "timestamptz not null"     (alternatives: "json | jsonb")
    # columns.id = {type = "bigint", not_null = true, identity = true, default = "..."}

A stories file holds the same tables under each story: ``[stories.expect.tables.NAME]``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..tomlspec import Doc, Field, Invalid, Keys, anything, boolean, read_toml, string
from .model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation

ACTIONS = ("no action", "restrict", "cascade", "set null", "set default")
REFERENCE = re.compile(r"^\s*([\w.\"]+)\s*\(\s*([^)]*)\)\s*$")
MISSING_HINT = "check the path given to --expect (or [tool.schema_tools.verify] expect)"


def check_expressions(value: Any) -> tuple[str, ...]:
    """CHECK expressions: non-empty strings, each one SQL expression (checked when compared)."""
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(v.strip() for v in value)
    raise Invalid(f"must be a list of CHECK expressions, not {value!r}", 'write checks = ["amount_cents >= 0"]')


def names(value: Any) -> tuple[str, ...]:
    """A column name or a list of them."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise Invalid(f"must be a column name or a list of column names, not {value!r}", 'write key = ["a", "b"]')


def name_lists(value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list):
        raise Invalid("must be a list", 'write key = ["a", ["b", "c"]]')
    return tuple(names(v) for v in value)


def action(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in ACTIONS:
        raise Invalid(f"= {value!r} is not an action", f"use one of: {', '.join(ACTIONS)}")
    return value.lower()


def reference(value: Any) -> tuple[str, tuple[str, ...]]:
    match = REFERENCE.match(value) if isinstance(value, str) else None
    if match is None:
        raise Invalid(f'= {value!r} is not "table(column, ...)"', 'write references = "tenants(id)"')
    return match.group(1).strip('"'), tuple(c.strip().strip('"') for c in match.group(2).split(",") if c.strip())


def value_sets(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                              for v in value.values()):
        raise Invalid("must map columns to lists of values", 'write allowed_values.role = ["owner", "admin"]')
    return {column: tuple(values) for column, values in value.items()}


def tables_by_name(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("must be a table of index names", "write indexes.NAME = {keys = [...]}")
    return value


def trigger_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("must be a list of trigger names (empty: no trigger at all)", 'write triggers = ["set_updated_at"]')
    return tuple(value)


def entries(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid("must be a list", "write foreign_keys = [{...}]")
    return value


TABLE = {
    "columns": Field(anything, "names, or name = type", []),
    "only_columns": Field(boolean, "no columns beyond those listed", False),
    "primary_key": Field(names, "the primary key's columns"),
    "unique": Field(name_lists, "column sets a unique constraint or index covers", ()),
    "indexed": Field(name_lists, "column lists a valid index leads with", ()),
    "foreign_keys": Field(entries, "foreign keys with their actions", []),
    "allowed_values": Field(value_sets, "values a CHECK restricts a column to", {}),
    "indexes": Field(tables_by_name, "named indexes with their shape", {}),
    "triggers": Field(trigger_names, "exactly the triggers the table has"),
    "checks": Field(check_expressions, "CHECK expressions a validated constraint must state", ()),
    "comment": Field(string, "the table's comment (COMMENT ON TABLE), exactly"),
}
COLUMN = {"type": Field(string), "not_null": Field(boolean), "nullable": Field(boolean), "default": Field(string),
          "identity": Field(boolean), "comment": Field(string)}
FOREIGN_KEY = {"columns": Field(names, required=True), "references": Field(reference, 'references = "table(column)"',
                                                                          required=True),
               "on_delete": Field(action), "on_update": Field(action), "deferrable": Field(boolean)}
INDEX = {"keys": Field(names), "unique": Field(boolean), "method": Field(string), "where": Field(string)}


def _type_string(doc: Doc, keys: Keys, label: str, text: str) -> ColumnSpec:
    words = text.strip().lower()
    not_null: bool | None = None
    if words.endswith(" not null"):
        words, not_null = words[: -len(" not null")], True
    elif words.endswith(" null"):
        words, not_null = words[: -len(" null")], False
    if not words:
        raise doc.error(keys, f"column {label}: empty type", 'write "text not null" or "bigint"')
    return ColumnSpec(str(keys[-1]), words, not_null)


def _columns(doc: Doc, keys: Keys, table: str, value: Any) -> tuple[ColumnSpec, ...]:
    if value == []:
        return ()
    if isinstance(value, list):
        return tuple(ColumnSpec(n) for n in doc.check(keys, names, f"{table}.columns", value))
    if not isinstance(value, dict):
        raise doc.error(keys, f"{table}.columns must be a list of names or a table of name = type",
                        'write columns = ["id", "name"] or columns.name = "text not null"')
    found = []
    for name, spec in value.items():
        here = (*keys, name)
        if isinstance(spec, str):
            found.append(_type_string(doc, here, f"{table}.{name}", spec))
            continue
        if not isinstance(spec, dict):
            raise doc.error(here, f"column {table}.{name} must be a type string or a table, not {spec!r}",
                            'write columns.NAME = "text not null" or {type = "text", not_null = true}')
        given = doc.table(here, COLUMN, label=f"columns.{name}", key_prefix=f"{table}.columns.{name}", value=spec)
        not_null = given["not_null"] if given["not_null"] is not None else (
            None if given["nullable"] is None else not given["nullable"])
        found.append(ColumnSpec(name, given["type"], not_null, given["default"], given["identity"], given["comment"]))
    return tuple(found)


def _foreign_key(doc: Doc, keys: Keys, table: str, spec: Any) -> ForeignKeySpec:
    if not isinstance(spec, dict):
        raise doc.error(keys, f"{table}.foreign_keys entries must be tables",
                        'write {columns = ["a"], references = "t(id)", on_delete = "cascade"}')
    given = doc.table(keys, FOREIGN_KEY, label=f"{table}.foreign_keys entry", key_prefix=f"{table}.foreign_keys",
                      value=spec, hint='write {columns = ["tenant_id"], references = "tenants(id)"}')
    ref_table, ref_columns = given["references"]
    return ForeignKeySpec(given["columns"], ref_table, ref_columns, given["on_delete"], given["on_update"],
                          given["deferrable"])


def _table(doc: Doc, keys: Keys, name: str, label: str) -> TableExpectation:
    given = doc.table(keys, TABLE, label=f"tables.{name}", key_prefix=name)
    indexes = tuple(IndexSpec(index, **doc.table((*keys, "indexes", index), INDEX, label=f"{name}.indexes.{index}",
                                                 value=spec if isinstance(spec, dict) else None,
                                                 hint='write {keys = ["a"], unique = true}'))
                    for index, spec in given["indexes"].items())
    return TableExpectation(
        table=name, source=str(doc.path), line=doc.line(keys), label=label,
        columns=_columns(doc, (*keys, "columns"), name, given["columns"]),
        only_columns=given["only_columns"],
        primary_key=given["primary_key"],
        unique=given["unique"],
        indexed=given["indexed"],
        foreign_keys=tuple(_foreign_key(doc, (*keys, "foreign_keys", i), name, fk)
                           for i, fk in enumerate(given["foreign_keys"])),
        allowed_values=given["allowed_values"],
        indexes=indexes,
        triggers=given["triggers"],
        checks=given["checks"],
        comment=given["comment"],
        lines=doc.lines(keys),
    )


def tables_from(doc: Doc, base: Keys = (), label: str = "") -> list[TableExpectation]:
    """The ``tables`` of one expectation document, or of one story's ``expect`` (``base``:
    where that table is in the file, e.g. ``("stories", 0, "expect")``)."""
    where = ".".join(str(k) for k in base if isinstance(k, str))
    data = doc.get(base, {}) if base else doc.data
    if not isinstance(data, dict):
        raise doc.error(base, f"{where} must be a table", hint=f"write [{where}.tables.NAME] sections")
    for key in data:
        if key != "tables":
            raise doc.error((*base, key), f"unknown key {key!r} in {where or 'the file'}",
                            hint=f"an expectation file holds [{where + '.' if where else ''}tables.NAME] sections only")
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise doc.error((*base, "tables"), "tables must be a table of [tables.NAME] sections",
                        "write [tables.NAME] sections")
    return [_table(doc, (*base, "tables", name), name, label) for name in tables]


def expectations_in(path: Path) -> list[TableExpectation]:
    """Every table expectation in a file: a plain expectation file or a stories file."""
    doc = read_toml(path, what="expectation file", hint=MISSING_HINT)
    if "stories" not in doc.data:
        return tables_from(doc)
    stories = doc.data["stories"]
    if not isinstance(stories, list):
        raise doc.error(("stories",), "stories must be an array of [[stories]] tables",
                        "write [[stories]] tables, each with id, title and its [stories.expect.tables.NAME]")
    found: list[TableExpectation] = []
    for index, story in enumerate(stories):
        if isinstance(story, dict) and "expect" in story:
            found += tables_from(doc, ("stories", index, "expect"), str(story.get("id", f"story {index + 1}")))
    return found

