"""Keep the harness's own files safe from the agent: snapshot them before it runs, and after
it, restore whatever it changed and say so."""

from __future__ import annotations

from pathlib import Path


class Guard:
    """Snapshots of files the agent must not change (stories, progress.log, applied migrations)."""

    def __init__(self, paths: list[Path], root: Path) -> None:
        self.root = root
        self.saved = {p: (p.read_bytes() if p.exists() else None) for p in paths}

    def restore_changes(self) -> list[str]:
        """Restore every changed or deleted file; one finding per file the agent touched."""
        findings = []
        for path, content in self.saved.items():
            now = path.read_bytes() if path.exists() else None
            if now == content:
                continue
            if content is None:
                path.unlink()
            else:
                path.write_bytes(content)
            try:
                shown = path.relative_to(self.root)
            except ValueError:
                shown = path
            findings.append(f"tampering: the agent changed {shown}, which the harness owns; restored")
        return findings
