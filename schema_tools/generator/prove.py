"""Prove a draft before it is written: in a copy of the migrations folder with the new files,
lint them; on a scratch database holding every migration before them, apply each, roll it back
(the schema must be as before), apply it again (as after the first apply); then verify the
expectations and the invariants on the result."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from ..config import Settings
from ..expect.model import TableExpectation
from .files import GeneratedFile, write


@dataclass
class Proof:
    problems: list[str] = field(default_factory=list)  # the draft is wrong: nothing is written
    remaining: list[str] = field(default_factory=list)  # verify findings still open after the draft
    already: set[str] = field(default_factory=set)  # those of them open before the draft too
    checks: int = 0  # verify checks run on the result

    @property
    def holds(self) -> bool:
        return not self.problems


def _copy(settings: Settings, files: list[GeneratedFile], into: Path, layout: str) -> tuple[Settings, list[Path]]:
    """The migrations folder copied with the new files written in it (their paths): yoyo's .sql
    files, another layout's whole tree (its subfolders, plan and lock files)."""
    folder = into / "migrations"
    if layout != "yoyo" and settings.migrations_dir.is_dir():
        shutil.copytree(settings.migrations_dir, folder, ignore=shutil.ignore_patterns(".*"))
    else:
        folder.mkdir()
    if layout == "yoyo" and settings.migrations_dir.is_dir():
        for path in settings.migrations_dir.glob("*.sql"):
            if path.is_file():
                shutil.copyfile(path, folder / path.name)
    written = write(folder, files, layout)
    return replace(settings, migrations_dir=folder, layout=layout), written


def prove(settings: Settings, files: list[GeneratedFile], before: str | None,
          expectations: Sequence[TableExpectation], layout: str = "yoyo") -> Proof:
    """See the module. ``before``: the last migration before the new ones (None: there is none)."""
    from ..catalog.read import read_catalog
    from ..migration_files.read import read_folder
    from ..engine.reversible import beyond, prepare_scratch, round_trips
    from ..engine.runner import apply_pending
    from ..errors import SchemaToolsError
    from ..expect.check import check_catalog
    from ..linter import lint_paths
    from ..server.connect import open_connection
    from ..server.scratch import powerless_connection

    proof = Proof()
    with tempfile.TemporaryDirectory(prefix="schema-tools-generate-") as tmp:
        copied, written = _copy(settings, files, Path(tmp), layout)
        if layout == "yoyo":
            lint = lint_paths(copied, [copied.migrations_dir / f"{f.id}.sql" for f in files], use_cache=False)
            errors = lint.errors
        else:  # the folder's own history, the new files' findings
            lint = lint_paths(copied, [], use_cache=False)
            errors = [f for f in lint.errors if f.file and Path(f.file) in written]
        proof.problems += [f"lint: {Path(f.file or '').name}:{f.line}: {f.rule}: {f.message}" for f in errors]
        new = {f.id for f in files}
        history = read_folder(copied.migrations_dir, layout=layout, placeholders=dict(settings.placeholders))
        migrations = [m for m in history if m.id in new]
        refused = [f.message for m in history if (f := beyond(m, extensions=True)) is not None]
        if refused:
            proof.problems += [f"not run: {message}" for message in refused]
            return proof
        failed: list[str] = []

        def apply_before(conn: psycopg.Connection) -> None:  # the project's own history, as the admin's role
            try:
                apply_pending(conn, copied, history, to=before)
            except SchemaToolsError as exc:
                failed.append(f"the migrations before the new ones do not apply: {exc.one_line()}")

        with open_connection(settings, "schema-tools generate") as admin, \
                powerless_connection(settings, admin, apply_before if before is not None else None,
                                     "schema-tools generate") as conn:
            if failed:
                proof.problems += failed
                return proof
            prepare_scratch(conn)
            open_before = check_catalog(read_catalog(conn, settings.schemas), expectations, settings.disabled_invariants)
            proof.already = {f.message for f in open_before.errors}
            for check in round_trips(conn, copied, migrations):
                proof.problems += [f"check-reversible: {f.message}" for f in check.findings]
            if proof.problems:
                return proof
            catalog = read_catalog(conn, settings.schemas)
    report = check_catalog(catalog, expectations, settings.disabled_invariants)
    proof.checks = len(report.checks)
    proof.remaining = [f.message for f in report.errors]
    proof.already &= set(proof.remaining)
    return proof
