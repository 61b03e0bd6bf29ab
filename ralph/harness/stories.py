"""The stories file: load, validate, and record ``passes`` without disturbing the rest of it.

Format (TOML, edited by people):

    [[stories]]
    id = "SCHEMA-001"
    title = "Database schema migration - Core tables"
    priority = 1                      # lower runs first
    depends_on = []
    migrations = ["0002_core_tables"] # the migrations the story owns
    passes = false                    # a cache the harness writes; the database decides
    notes = "..."
    criteria = ["free text ..."]      # checked by machine where they can be, else "unverified"
    drops = ["audit_trail"]           # tables (or table.column) it may drop with their data
    writes = ["users"]                # earlier tables its migrations may write rows in (a data step)
    grants = ["api_keys"]             # tables its migrations may GRANT / REVOKE on
    [stories.expect.tables.sessions]  # the verify format
    ...
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomlkit

from schema_tools import TableExpectation
from schema_tools.harness import Field, Invalid, Kinds, TomlDoc, read_toml, tables_from

ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
MISSING_HINT = "pass --stories FILE (see ralph import)"


def _story_id(value: Any) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise Invalid(f"must be a short name like SCHEMA-001, not {value!r}", 'write id = "SCHEMA-001"')
    return value


def _migration_ids(value: Any) -> tuple[str, ...]:
    ids = Kinds.strings(value)
    for m in ids:
        if "/" in m or "\\" in m or m.startswith(".") or m.endswith(".sql"):
            raise Invalid(f"holds {m!r}: each must be a migration id (a file name without .sql), "
                          "inside the migrations folder", 'write migrations = ["0002_core_tables"]')
    return ids


STORY = {
    "id": Field(_story_id, "a short name like SCHEMA-001", required=True),
    "title": Field(Kinds.nonempty_string, "what the story is", required=True),
    "priority": Field(Kinds.integer, "lower runs first (default: the story's position)"),
    "depends_on": Field(Kinds.strings, "ids of stories that must pass first", ()),
    "migrations": Field(_migration_ids, "the migrations the story owns", ()),
    "passes": Field(Kinds.boolean, "a cache the harness writes", False),
    "notes": Field(Kinds.string, "context for the agent", ""),
    "criteria": Field(Kinds.strings, "free-text acceptance criteria", ()),
    "drops": Field(Kinds.strings, "tables (or table.column) the story may drop with their data; any other "
                   "table or column that held rows must survive the promotion", ()),
    "writes": Field(Kinds.strings, "tables whose rows the story's migrations may write (a data step): the "
                    "allow-list lets their INSERT/UPDATE/DELETE through and the data guard lets them gain rows; any "
                    "other table, its own new ones included, must hold no more rows after the promotion than before", ()),
    "grants": Field(Kinds.strings, "tables the story's migrations may GRANT or REVOKE privileges on", ()),
    "expect": Field(Kinds.anything, "[stories.expect.tables.NAME] sections", None),
}


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    priority: int
    depends_on: tuple[str, ...] = ()
    migrations: tuple[str, ...] = ()
    passes: bool = False
    notes: str = ""
    criteria: tuple[str, ...] = ()
    expectations: tuple[TableExpectation, ...] = field(default=(), compare=False)
    source: str = ""  # the story's block of the file, for the agent's prompt
    drops: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()  # tables that existed before whose rows its migrations may write
    grants: tuple[str, ...] = ()  # tables its migrations may grant or revoke privileges on

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(e.table for e in self.expectations)

    @property
    def checked(self) -> tuple[TableExpectation, ...]:
        """What the harness verifies: the expectations, where a table that does not declare its
        triggers must have none (a trigger can change every write the story's checks rely on)."""
        return tuple(e if e.triggers is not None else replace(e, triggers=()) for e in self.expectations)


def _blocks(text: str) -> list[str]:
    """The text of each ``[[stories]]`` block, in order."""
    starts = [m.start() for m in re.finditer(r"^\s*\[\[\s*stories\s*\]\]", text, re.M)]
    return [text[s:e] for s, e in zip(starts, starts[1:] + [len(text)])]


def _story(doc: TomlDoc, index: int, source: str) -> Story:
    given = doc.table(("stories", index), STORY, label=f"story {index + 1}", key_prefix=f"story {index + 1}")
    story_id = given["id"]
    return Story(story_id, given["title"].strip(), index + 1 if given["priority"] is None else given["priority"],
                 given["depends_on"], given["migrations"], given["passes"], given["notes"].strip(),
                 given["criteria"],
                 tuple(tables_from(doc, ("stories", index, "expect"), story_id)) if given["expect"] else (),
                 source, given["drops"], given["writes"], given["grants"])


def load_stories(path: Path, runnable: bool = True) -> list[Story]:
    """Every story, validated: unique ids, known dependencies without cycles, typed fields, and
    (``runnable``) something the harness can check: expectations or migrations."""
    doc = read_toml(path, what="stories file", hint=MISSING_HINT)
    unknown = sorted(set(doc.data) - {"stories"})
    if unknown:
        raise doc.error((unknown[0],), f"unknown key {unknown[0]!r}", "the file holds [[stories]] tables only")
    raw = doc.data.get("stories")
    if not isinstance(raw, list) or not raw:
        raise doc.error(("stories",), "no [[stories]] in the file", "add [[stories]] tables with id, title and priority")
    blocks = _blocks(doc.text)
    stories = [_story(doc, index, blocks[index] if index < len(blocks) else "") for index in range(len(raw))]
    seen: set[str] = set()
    for index, story in enumerate(stories):
        if story.id in seen:
            raise doc.error(("stories", index, "id"), f"story id {story.id} appears twice", "give each story its own id")
        seen.add(story.id)
    for index, story in enumerate(stories):
        for dep in story.depends_on:
            if dep not in seen:
                raise doc.error(("stories", index, "depends_on"), f"{story.id} depends on {dep}, which is not a story",
                                "fix depends_on")
    _check_cycles(doc, stories)
    for index, story in enumerate(stories):
        if runnable and not story.expectations and not story.migrations:
            raise doc.error(("stories", index), f"{story.id} has nothing the harness can check, so it could never "
                            "pass (or would pass on anything)",
                            "add [stories.expect.tables.NAME] expectations or the migrations it owns")
    return stories


def _check_cycles(doc: TomlDoc, stories: list[Story]) -> None:
    deps = {s.id: set(s.depends_on) for s in stories}
    done: set[str] = set()
    while deps:
        ready = [k for k, v in deps.items() if v <= done]
        if not ready:
            raise doc.error(("stories",), f"dependency cycle among stories: {', '.join(sorted(deps))}",
                            "remove a depends_on")
        for k in ready:
            done.add(k)
            del deps[k]


def set_passes(path: Path, story_id: str, value: bool) -> None:
    """Set one story's ``passes`` (comments and layout kept, tomlkit), atomically."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    for story in document.get("stories", []):
        if story.get("id") == story_id:
            story["passes"] = value
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    temporary.replace(path)
