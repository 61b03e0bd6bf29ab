"""The prompt the agent gets (on stdin and in a file): built from the story, never the reverse."""

from __future__ import annotations

from pathlib import Path

from .logformat import BULLET, FINDING, read_events
from .stories import Story

LEARNINGS = 30


def learnings(log: Path) -> list[str]:
    """The latest findings and completion notes recorded in progress.log (its last 64 KiB)."""
    if not log.exists():
        return []
    with open(log, "rb") as handle:
        start = max(0, log.stat().st_size - 65536)
        handle.seek(start)
        tail = handle.read().decode("utf-8", "surrogateescape").splitlines()
    whole = tail[1:] if start else tail  # a seek lands mid-line
    notes = [str(e.a) for e in read_events(whole) if e.kind in (BULLET, FINDING)]
    return notes[-LEARNINGS:]


def build_prompt(story: Story, migrations_dir: Path, previous: list[str], learned: list[str]) -> str:
    files = ", ".join(f"{migrations_dir.name}/{m}.sql (+ {m}.rollback.sql)" for m in story.migrations) or \
        f"new files in {migrations_dir.name}/"
    parts = [
        f"# Story {story.id}: {story.title}",
        story.notes,
        "## Acceptance criteria",
        *[f"- {c}" for c in story.criteria],
        "## What the harness checks (its own verification decides; nothing you print changes it)",
        "The story passes only when, on a fresh database, every migration applies, the expectations below hold, "
        "the schema invariants hold (every FK indexed, no redundant or invalid index, primary keys, timestamptz, "
        "no NOT VALID left) and `schema-tools lint` finds no error in the story's migrations.",
        "```toml", story.source.strip(), "```",
        "## Your task",
        f"Write or fix the migration(s): {files}. Use yoyo's SQL format ('-- depends: ID' header). "
        "You work in a private copy of the project: the harness takes back only this story's pending migration "
        f"files in {migrations_dir.name}/ (ID.sql and ID.rollback.sql). Migrations already applied are frozen: "
        "a change to one fails the iteration; put it in a new migration. Nothing else you write is read.",
        "A scratch database is in $DATABASE_URL for your experiments (its login reaches only that database); "
        "it is dropped after this iteration.",
    ]
    if previous:
        parts += ["## The previous attempt failed with", *[f"- {f}" for f in previous]]
    if learned:
        parts += ["## Learnings from progress.log", *[f"- {line}" for line in learned]]
    return "\n\n".join(p for p in parts if p) + "\n"
