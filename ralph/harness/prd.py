"""``ralph import prd.json``: a snarktank-style prd.json as a stories file.

Criteria in a shape we can check (``table: col, col``, ``Indexes on: ... for table``) become
expectations; the rest are kept as criteria and reported as unverified -- never counted as
passed. ``passes`` always starts false: the harness decides from the database.
"""

from __future__ import annotations

import json
from pathlib import Path

from schema_tools import ConfigError, TableExpectation
from schema_tools.harness import TomlDoc

from .criteria import expectation_of
from .stories import STORY

def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes, plus DEL, which TOML also forbids raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


def _expectations(criteria: list[str]) -> tuple[dict[str, list[TableExpectation]], int]:
    """The criteria that read as expectations, by table, and how many did."""
    tables: dict[str, list[TableExpectation]] = {}
    for criterion in criteria:
        found = expectation_of(criterion)
        if found is not None:
            tables.setdefault(found.table, []).append(found)
    return tables, sum(len(found) for found in tables.values())


def _section(table: str, found: list[TableExpectation]) -> list[str]:
    """One ``[stories.expect.tables."T"]`` section merging every criterion about the table."""
    columns = list(dict.fromkeys(c.name for e in found for c in e.columns))
    unique = [list(u) for e in found for u in e.unique]
    indexed = [i for e in found for i in e.indexed]
    out = [f'[stories.expect.tables."{table}"]']
    if columns:
        out.append(f"columns = {_toml_list(columns)}")
    if unique:
        out.append("unique = [" + ", ".join(_toml_list(u) for u in unique) + "]")
    if indexed:
        out.append("indexed = [" + ", ".join(_toml_string(i[0]) if len(i) == 1 else _toml_list(list(i))
                                             for i in indexed) + "]")
    for e in found:
        out += [f"allowed_values.{column} = {_toml_list(list(values))}" for column, values in e.allowed_values.items()]
    return out + [""]


def prd_to_toml(path: Path) -> tuple[str, int, int]:
    """The stories file text, and how many criteria became machine checks / stayed unverified."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file",
                          hint="give the path of a prd.json")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})", hint="fix the JSON syntax") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read", hint="a prd.json nests a few levels at most") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    doc = TomlDoc(path, data if isinstance(data, dict) else {}, text)  # JSON: no line positions
    stories = doc.get(("userStories",))
    if not isinstance(stories, list) or not stories:
        raise doc.error(("userStories",), "no userStories list",
                        'a prd.json holds {"userStories": [{"id": ..., "title": ...}]}')
    out = [f"# Imported from {path.name} by ralph import. Criteria in a shape the harness can check became",
           "# expectations; the others stay as criteria and are reported as unverified.", ""]
    checked_total = unverified_total = 0
    for index, story in enumerate(stories):
        if not isinstance(story, dict):
            raise doc.error(("userStories", index), f"userStories[{index}] must be an object with id and title")
        doc.check(("userStories", index, "id"), STORY["id"].kind, f"userStories[{index}].id", story.get("id"))
        doc.check(("userStories", index, "title"), STORY["title"].kind, f"userStories[{index}].title", story.get("title"))
        criteria = [str(c) for c in story.get("acceptanceCriteria") or [] if isinstance(c, (str, int, float))]
        notes = "\n".join(str(story.get(k) or "") for k in ("description", "notes")).strip()
        priority = story.get("priority", index + 1)
        priority = priority if isinstance(priority, int) and not isinstance(priority, bool) else index + 1
        tables, checked = _expectations(criteria)
        checked_total += checked
        unverified_total += len(criteria) - checked
        out += ["[[stories]]", f"id = {_toml_string(story['id'])}", f"title = {_toml_string(story['title'])}",
                f"priority = {priority}", "depends_on = []", "migrations = []", "passes = false",
                f"notes = {_toml_string(notes)}", f"criteria = {_toml_list(criteria)}", ""]
        for table, found in tables.items():
            out += _section(table, found)
    return "\n".join(out), checked_total, unverified_total
