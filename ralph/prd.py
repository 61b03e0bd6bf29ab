"""``ralph import prd.json``: a snarktank-style prd.json as a stories file.

Criteria in a shape we can check (``table: col, col``, ``Indexes on: ... for table``) become
expectations; the rest are kept as criteria and reported as unverified -- never counted as
passed. ``passes`` always starts false: the harness decides from the database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from schema_tools import ConfigError

from .criteria import INDEXES, TABLE_LIST, _items

REQUIRED = ("id", "title")


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes, plus DEL, which TOML also forbids raw)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml_string(i) for i in items) + "]"


def _expectations(criteria: list[str]) -> tuple[dict[str, dict[str, list[Any]]], int]:
    tables: dict[str, dict[str, list[Any]]] = {}
    checked = 0
    for criterion in criteria:
        indexes = INDEXES.match(criterion)
        listing = TABLE_LIST.match(criterion)
        if indexes:
            table = tables.setdefault(indexes.group(2), {})
            table.setdefault("indexed", []).extend(
                [c.strip() for c in i.strip("()").split(",")] if i.startswith("(") else i for i in _items(indexes.group(1)))
            checked += 1
        elif listing and re.match(r"^[a-z_][a-z0-9_]*$", listing.group(1)):
            table = tables.setdefault(listing.group(1), {})
            for item in _items(listing.group(2)):
                unique = re.match(r"^UNIQUE\s*\((.+)\)$", item, re.IGNORECASE)
                if unique:
                    table.setdefault("unique", []).append([c.strip() for c in unique.group(1).split(",")])
                    continue
                match = re.match(r"^(\w+)\s*(?:\((.*)\))?$", item)
                if not match:
                    continue
                table.setdefault("columns", []).append(match.group(1))
                note = (match.group(2) or "").strip()
                if note.upper() == "UNIQUE":
                    table.setdefault("unique", []).append([match.group(1)])
                elif "/" in note:
                    table.setdefault("allowed", []).append((match.group(1), [v.strip() for v in note.split("/")]))
            checked += 1
    return tables, checked


def prd_to_toml(path: Path) -> tuple[str, int, int]:
    """The stories file text, and how many criteria became machine checks / stayed unverified."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", hint="give the path of a prd.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})", hint="fix the JSON syntax") from None
    stories = data.get("userStories") if isinstance(data, dict) else None
    if not isinstance(stories, list) or not stories:
        raise ConfigError(f"{path}: no userStories list", hint='a prd.json holds {"userStories": [{"id": ..., "title": ...}]}')
    out = [f"# Imported from {path.name} by ralph import. Criteria in a shape the harness can check became",
           "# expectations; the others stay as criteria and are reported as unverified.", ""]
    checked_total = unverified_total = 0
    for index, story in enumerate(stories):
        if not isinstance(story, dict) or any(not isinstance(story.get(k), str) or not story.get(k) for k in REQUIRED):
            raise ConfigError(f"{path}: userStories[{index}] needs a string id and title")
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
        for table, facts in tables.items():
            out.append(f'[stories.expect.tables."{table}"]')
            if facts.get("columns"):
                out.append(f"columns = {_toml_list(facts['columns'])}")
            if facts.get("unique"):
                out.append("unique = [" + ", ".join(_toml_list(u) for u in facts["unique"]) + "]")
            if facts.get("indexed"):
                out.append("indexed = [" + ", ".join(_toml_list(i) if isinstance(i, list) else _toml_string(i)
                                                     for i in facts["indexed"]) + "]")
            for column, values in facts.get("allowed", []):
                out.append(f"allowed_values.{column} = {_toml_list(values)}")
            out.append("")
    return "\n".join(out), checked_total, unverified_total
