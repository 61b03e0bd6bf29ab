"""The prompt the agent gets (on stdin and in a file): built from the story and the target's
state, never the reverse. It states the situation: why the story is open, what the last attempt
got wrong, which migrations are applied (frozen), the live definition of the story's tables,
and which file to write next."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from schema_tools import Catalog, Table

from ..logformat import Finding, IterationStarted, read_events
from .stories import Story

LEARNINGS = 15


@dataclass(frozen=True)
class Situation:
    """What the agent must know of the target before it writes anything."""

    applied: tuple[str, ...] = ()  # in the order they were applied: frozen
    catalog: Catalog | None = None
    open_because: tuple[str, ...] = ()  # why the harness finds the story not holding on the target
    next_id: str = ""  # the id of the next migration file, when the story names none
    passed_before: bool = False  # the story held once: this is a regression
    learned: tuple[str, ...] = field(default_factory=tuple)


def learnings(log: Path, story_id: str) -> list[str]:
    """The findings earlier iterations of this story recorded in progress.log (its last 256 KiB),
    each once, the most recent last."""
    if not log.exists():
        return []
    with open(log, "rb") as handle:
        start = max(0, log.stat().st_size - 262144)
        handle.seek(start)
        tail = handle.read().decode("utf-8", "surrogateescape").splitlines()
    current, notes = "", dict[str, None]()
    for event in read_events(tail[1:] if start else tail):  # a seek lands mid-line
        if isinstance(event, IterationStarted):
            current = event.story
        elif isinstance(event, Finding) and current == story_id:
            notes.pop(event.text, None)
            notes[event.text] = None
    return list(notes)[-LEARNINGS:]


def next_migration_id(migrations_dir: Path, story: Story) -> str:
    """``NNNN_story_slug``: one past the highest number in the folder."""
    numbers = [int(m.group(1)) for p in migrations_dir.glob("*.sql") if (m := re.match(r"^(\d+)_", p.name))]
    slug = re.sub(r"[^a-z0-9]+", "_", story.title.lower()).strip("_")[:40] or story.id.lower()
    return f"{max(numbers, default=0) + 1:04d}_{slug}"


def table_definition(table: Table) -> list[str]:
    """A table as the live catalog has it, in a few lines of SQL-like text."""
    lines = [f"{table.schema}.{table.name}:" if table.schema != "public" else f"{table.name}:"]
    for c in table.columns:
        extra = " NOT NULL" if c.not_null else ""
        extra += f" DEFAULT {c.default}" if c.default else ""
        extra += f" GENERATED {c.identity.upper()} AS IDENTITY" if c.identity else ""
        lines.append(f"  {c.name} {c.type}{extra}")
    if table.primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(table.primary_key.columns)})")
    lines += [f"  {u.name}: UNIQUE ({', '.join(u.columns)})" for u in table.uniques]
    lines += [f"  {fk.name}: FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.ref_table} ({', '.join(fk.ref_columns)})"
              f" ON DELETE {fk.on_delete.upper()}" + ("" if fk.validated else " NOT VALID") for fk in table.foreign_keys]
    lines += [f"  {c.name}: CHECK {c.expression}" for c in table.checks]
    lines += [f"  index {i.name} ({', '.join(i.keys)})" + (" UNIQUE" if i.unique else "") +
              (f" WHERE {i.predicate}" if i.predicate else "") + ("" if i.valid else " INVALID")
              for i in table.indexes if not i.primary and not i.constraint]
    return lines


def inert(text: str) -> str:
    """One line of text with no control character (a newline cannot start a heading of its own)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def fenced(text: str, info: str = "") -> str:
    """``text`` in a code fence longer than any run of backticks in it: nothing inside closes it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _bullets(title: str, items: list[str] | tuple[str, ...]) -> str:
    return "\n".join([title, *[f"- {inert(item)}" for item in items]])


def build_prompt(story: Story, migrations_dir: Path, previous: list[str], situation: Situation) -> str:
    folder = migrations_dir.name
    files = ", ".join(f"{folder}/{m}.sql (+ {m}.rollback.sql)" for m in story.migrations) or \
        f"{folder}/{situation.next_id}.sql (+ {situation.next_id}.rollback.sql)"
    parts = [
        f"# Story {story.id}: {story.title}",
        story.notes,
        _bullets("## Acceptance criteria", story.criteria),
        *([_bullets("## It may drop, with their data (nothing else that holds rows may go)", story.drops)]
          if story.drops else []),
        *([_bullets("## It may add rows to (no other table may gain rows)", story.writes)] if story.writes else []),
        "## What the harness checks (its own verification decides; nothing you print changes it)",
        "The story passes only when, on a fresh database, every migration applies, the expectations below hold, "
        "the schema invariants hold (every FK indexed, no redundant or invalid index, primary keys, timestamptz, "
        "no NOT VALID left) and `schema-tools lint` finds no error in the story's migrations.",
        fenced(story.source.strip(), "toml"),
    ]
    if situation.open_because:
        title = ("## Why this story is open again (it passed before; the target no longer holds it)"
                 if situation.passed_before else "## Why this story is open (the harness's check of the target)")
        parts.append(_bullets(title, situation.open_because))
    if previous:
        parts.append(_bullets("## The previous attempt failed with", previous))
    parts.append(_bullets(f"## Applied on the target: frozen, never edit these ({len(situation.applied)})",
                          [f"{folder}/{m}.sql" for m in situation.applied] or ["(none yet)"]))
    if situation.catalog is not None and story.tables:
        referenced = [fk.ref_table for e in story.expectations for fk in e.foreign_keys]
        live = []
        for name in dict.fromkeys([*story.tables, *referenced]):
            table = situation.catalog.table(name)
            live += table_definition(table) if table is not None else [f"{name}: does not exist yet"]
        parts.append("## The story's tables (and those they reference) on the target now\n" + fenced("\n".join(live)))
    parts += [
        "## Your task",
        f"Write or fix the migration(s): {files}. Use yoyo's SQL format ('-- depends: ID' header). "
        "You work in a private copy of the project: the harness takes back only this story's pending migration "
        f"files in {folder}/ (ID.sql and ID.rollback.sql). Migrations already applied are frozen: "
        "a change to one fails the iteration; put it in a new migration. Nothing else you write is read.",
        "A scratch database is in $DATABASE_URL for your experiments (its login reaches only that database; "
        "it holds the applied migrations above, so it has the target's schema); it is dropped after this iteration.",
    ]
    if situation.learned:
        parts.append(_bullets("## Earlier attempts at this story found (progress.log)", situation.learned))
    return "\n\n".join(p for p in parts if p) + "\n"
