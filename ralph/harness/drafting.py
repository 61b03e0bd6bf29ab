"""``ralph run --generate``: the harness drafts a story's migration itself with ``schema-tools
generate`` (from the story's expectations, proven on a scratch database). A draft that is
complete is written and attempted like any migration, with no agent; otherwise the draft and
what it could not express go into the agent's prompt as its starting point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from schema_tools import GeneratedFile, SchemaToolsError, Settings, generate
from schema_tools.harness import write_generated

from .prompt import fenced, inert


@dataclass
class StoryDraft:
    files: list[GeneratedFile] = field(default_factory=list)
    unexpressed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the proof failed, or verify still finds these

    @property
    def usable(self) -> bool:
        return bool(self.files) and not self.unexpressed and not self.problems

    def findings(self) -> list[str]:
        return ([f"generate: could not express: {u}" for u in self.unexpressed]
                + [f"generate: {p}" for p in self.problems])

    def prompt_section(self, folder: str) -> str:
        """The draft for the agent: its files, then what it leaves to do."""
        parts = ["## A draft from `schema-tools generate` (start from it; fix what it left)"]
        for f in self.files:
            parts.append(f"{folder}/{f.id}.sql:\n{fenced(f.sql.rstrip(), 'sql')}\n{folder}/{f.id}.rollback.sql:\n"
                         f"{fenced(f.rollback.rstrip(), 'sql')}")
        if self.unexpressed:
            parts.append("It could not express (write these yourself):\n" + "\n".join(f"- {inert(u)}" for u in self.unexpressed))
        if self.problems:
            parts.append("Its proof found:\n" + "\n".join(f"- {inert(p)}" for p in self.problems))
        return "\n\n".join(parts)


def draft_story(settings: Settings, stories: Path, story_id: str) -> StoryDraft | None:
    """The story's draft, not written; None when the migration files already declare it all."""
    try:
        result = generate(settings, [stories], story=story_id, write=False)
    except SchemaToolsError as exc:
        return StoryDraft(problems=[exc.one_line()])
    if result.draft.empty and not result.draft.unexpressed:
        return None
    proof = result.proof
    return StoryDraft(list(result.files), list(result.draft.unexpressed),
                      (proof.problems + proof.remaining) if proof is not None else [])


def write_draft(settings: Settings, draft: StoryDraft) -> list[str]:
    """Write the draft's files into the migrations folder (each new); the names written."""
    return [path.name for path in write_generated(settings, draft.files)]
