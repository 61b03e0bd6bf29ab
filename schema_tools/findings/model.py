"""Findings and the reports that carry them.

A ``Report`` lists every ``Check`` that ran (a JUnit testcase each, passed or not) and the
findings each produced; the exit code follows from the findings' severities.
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..records import quick_init


class Severity(str, Enum):
    """How much a finding matters: errors fail the run (exit 1), the rest are reported."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@quick_init
@dataclass(frozen=True)
class Finding:
    """One problem: which rule, what is wrong, on what, and how to fix it."""

    rule: str
    message: str
    severity: Severity = Severity.ERROR
    object: str = ""
    hint: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    detail: tuple[str, ...] = ()  # a few lines more (what differs), shown under the message

    def location(self) -> str:
        """``file:line:col`` where known, else the object's name."""
        if self.file:
            return ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return self.object


@quick_init
@dataclass(frozen=True)
class Check:
    """One thing that was checked (an expectation, an invariant, a rule on a file)."""

    name: str
    group: str
    findings: tuple[Finding, ...] = ()
    skipped: str = ""  # why it could not be checked: never a pass

    @property
    def passed(self) -> bool:
        return not self.skipped and not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(frozen=True)
class Report:
    """Everything one command checked."""

    tool: str
    checks: tuple[Check, ...] = ()
    rule_help: dict[str, str] = field(default_factory=dict)
    layout: str = "grouped"  # or "flat": one file:line:col line per finding
    per_check: bool = False  # the summary counts errors as checks failed, not findings (one check, one verdict)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def summary_line(report: Report) -> str:
    """``verify: 107 checks, 2 errors, 3 skipped``: the last line of every text report."""
    counts = {s: sum(1 for c in report.checks if any(f.severity is s for f in c.findings)) if report.per_check
              else sum(1 for f in report.findings if f.severity is s) for s in Severity}
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    skipped = sum(1 for c in report.checks if c.skipped)
    parts += [f"{skipped} skipped (not checked)"] if skipped else []
    checks = len(report.checks)
    return f"{report.tool}: {checks} check{'s' if checks != 1 else ''}, " + (", ".join(parts) if parts else "no problems")


def relative_paths(report: Report, root: Path) -> Report:
    """The report with each finding's file (and each check named by an absolute path) relative to
    ``root`` (POSIX separators) where it lies below it: what code scanning and annotations map to a
    repository's files, and what a user in ``root`` would type."""
    below = root.resolve().as_posix().rstrip("/") + "/"
    folders: dict[str, str] = {}  # a folder's real path, asked of the file system once per folder

    def relative(file: str | None) -> str | None:
        if not file:
            return file
        if not file.startswith("/"):
            return Path(file).as_posix()
        folder, _, leaf = file.rpartition("/")
        if folder not in folders:
            folders[folder] = os.path.realpath(folder or "/")
        real = os.path.realpath(file) if os.path.islink(file) else os.path.join(folders[folder], leaf)
        return real[len(below):] if real.startswith(below) else file

    def name(check: str) -> str:  # a check named by its file (lint's): the same file, the same name
        return relative(check) or check if check.startswith("/") else check

    return replace(report, checks=tuple(replace(c, name=name(c.name), findings=tuple(
        replace(f, file=relative(f.file)) for f in c.findings)) for c in report.checks))
