"""``generate``: what was written (or why not), the changes, the proof, what is left to do by hand."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import as_format

if TYPE_CHECKING:
    from ..generator import Generated, Proof


def render_generate(result: Generated, fmt: str, *, migrations_dir: Path) -> str:
    """The outcome of ``generate`` into ``migrations_dir``."""
    return as_format(fmt, lambda: _text(result, migrations_dir.name), lambda: {
        "ok": result.exit_code == 0,
        "written": [str(path) for path in result.written],
        "files": [{"id": f.id, "transactional": f.transactional, "sql": f.sql, "rollback": f.rollback}
                  for f in result.files],
        "changes": [c.what for c in result.draft.changes],
        "unexpressed": list(result.draft.unexpressed),
        "proof": _proof(result.proof),
    })


def _proof(proof: Proof | None) -> dict[str, object] | None:
    if proof is None:
        return None
    return {"holds": proof.holds, "problems": list(proof.problems), "checks": proof.checks,
            "passed": proof.checks - len(proof.remaining), "remaining": list(proof.remaining),
            "already": sorted(proof.already)}


def _text(result: Generated, folder: str) -> str:
    draft, proof = result.draft, result.proof
    lines: list[str] = []
    if draft.empty:
        lines.append("nothing to generate: the migration files already declare what the expectations ask"
                     + (" (except what is listed below)" if draft.unexpressed else ""))
    elif proof is not None and not proof.holds:
        lines.append("generate: the draft did not prove out, nothing was written:")
        lines += [f"  {p}" for p in proof.problems]
        lines += [f"\n-- {file.id}.sql (not written)\n{file.sql}" for file in result.files]
    else:
        for file in result.files:
            how = "in one transaction" if file.transactional else "outside a transaction, statement by statement"
            lines.append(f"wrote {folder}/{file.id}.sql and its rollback ({how})")
        lines.append("\n".join(f"  - {c.what}" for c in draft.changes))
        if proof is None:
            lines.append("not proven (--no-check): run schema-tools lint, check-reversible and verify before applying")
        else:
            lines.append(f"proven on a scratch database: lint clean; each migration rolls back to the schema before "
                         f"it and applies again to the same schema; verify: {proof.checks - len(proof.remaining)} of "
                         f"{proof.checks} checks pass" + ("" if proof.remaining else " (all)"))
            lines += [f"  still open{' (before this draft too)' if remaining in proof.already else ''}: {remaining}"
                      for remaining in proof.remaining]
    if draft.unexpressed:
        lines.append("could not express (write these by hand):")
        lines += [f"  - {u}" for u in draft.unexpressed]
    return "\n".join(lines)
