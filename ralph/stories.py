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
    [stories.expect.tables.sessions]  # the verify format
    ...
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from schema_tools import ConfigError, TableExpectation, load_toml, tables_from

KEYS = ("id", "title", "priority", "depends_on", "migrations", "passes", "notes", "criteria", "expect")
ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


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

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(e.table for e in self.expectations)


def _fail(path: Path, message: str, hint: str = "") -> ConfigError:
    return ConfigError(f"{path}: {message}", hint=hint or "fix the stories file")


def _blocks(text: str) -> list[str]:
    """The text of each ``[[stories]]`` block, in order."""
    starts = [m.start() for m in re.finditer(r"^\s*\[\[\s*stories\s*\]\]", text, re.M)]
    return [text[s:e] for s, e in zip(starts, starts[1:] + [len(text)])]


def _strings(value: object, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, f"{where} must be a list of strings", f'write {where.split(".")[-1]} = ["..."]')
    return tuple(value)


def load_stories(path: Path) -> list[Story]:
    """Every story, validated: unique ids, known dependencies without cycles, typed fields."""
    data, text = load_toml(path)
    raw = data.get("stories")
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "no [[stories]] in the file", "add [[stories]] tables with id, title and priority")
    unknown_top = sorted(set(data) - {"stories"})
    if unknown_top:
        raise _fail(path, f"unknown key {unknown_top[0]!r}", "the file holds [[stories]] tables only")
    blocks = _blocks(text)
    stories: list[Story] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        where = f"story {index + 1}"
        if not isinstance(entry, dict):
            raise _fail(path, f"{where} is not a table")
        for key in entry:
            if key not in KEYS:
                raise _fail(path, f"{where}: unknown key {key!r}", f"known keys: {', '.join(KEYS)}")
        story_id = entry.get("id")
        if not isinstance(story_id, str) or not ID.match(story_id):
            raise _fail(path, f"{where}: id must be a short name like SCHEMA-001, not {story_id!r}")
        if story_id in seen:
            raise _fail(path, f"story id {story_id} appears twice", "give each story its own id")
        seen[story_id] = index
        title = entry.get("title")
        priority = entry.get("priority", index + 1)
        if not isinstance(title, str) or not title.strip():
            raise _fail(path, f"{story_id}: title must be a non-empty string")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise _fail(path, f"{story_id}: priority must be a whole number")
        if not isinstance(entry.get("passes", False), bool):
            raise _fail(path, f"{story_id}: passes must be true or false")
        if not isinstance(entry.get("notes", ""), str):
            raise _fail(path, f"{story_id}: notes must be a string")
        migrations = _strings(entry.get("migrations", []), path, f"{story_id}.migrations")
        for m in migrations:
            if "/" in m or "\\" in m or m.startswith(".") or m.endswith(".sql"):
                raise _fail(path, f"{story_id}: migration {m!r} must be a migration id (a file name without .sql), "
                                  "inside the migrations folder")
        expect = entry.get("expect", {})
        stories.append(Story(
            story_id, title.strip(), priority, _strings(entry.get("depends_on", []), path, f"{story_id}.depends_on"),
            migrations, entry.get("passes", False), entry.get("notes", "").strip(),
            _strings(entry.get("criteria", []), path, f"{story_id}.criteria"),
            tuple(tables_from(expect, path, text, story_id, "stories.expect.")) if expect else (),
            blocks[index] if index < len(blocks) else "",
        ))
    ids = {s.id for s in stories}
    for s in stories:
        for dep in s.depends_on:
            if dep not in ids:
                raise _fail(path, f"{s.id} depends on {dep}, which is not a story", "fix depends_on")
    _check_cycles(path, stories)
    return stories


def _check_cycles(path: Path, stories: list[Story]) -> None:
    deps = {s.id: set(s.depends_on) for s in stories}
    done: set[str] = set()
    while deps:
        ready = [k for k, v in deps.items() if v <= done]
        if not ready:
            raise _fail(path, f"dependency cycle among stories: {', '.join(sorted(deps))}", "remove a depends_on")
        for k in ready:
            done.add(k)
            del deps[k]


def set_passes(path: Path, story_id: str, value: bool) -> None:
    """Rewrite one story's ``passes`` line in place (comments and layout kept), atomically."""
    text = path.read_text(encoding="utf-8")
    blocks = _blocks(text)
    head = text[: text.find(blocks[0])] if blocks else text
    out = [head]
    for block in blocks:
        if re.search(rf'^\s*id\s*=\s*"{re.escape(story_id)}"\s*$', block, re.M):
            literal = "true" if value else "false"
            if re.search(r"^\s*passes\s*=", block, re.M):
                block = re.sub(r"^(\s*passes\s*=\s*)(true|false)", rf"\g<1>{literal}", block, count=1, flags=re.M)
            else:
                block = re.sub(r'^(\s*id\s*=\s*"[^"]*"\s*)$', rf"\1\npasses = {literal}", block, count=1, flags=re.M)
        out.append(block)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text("".join(out), encoding="utf-8")
    temporary.replace(path)
