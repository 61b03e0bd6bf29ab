"""Inline ignores: ``-- schema-tools: ignore RULE[, RULE] -- reason`` (the reason is required).

An ignore applies to the first statement starting at or after its line; one placed before
the first statement also covers the file-level findings (reported at line 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..findings import Finding

IGNORE = re.compile(r"--\s*schema-tools:\s*ignore\s+(?P<rules>[\w\-]+(?:\s*,\s*[\w\-]+)*)(?:\s+--\s*(?P<reason>.*))?$",
                    re.IGNORECASE)
RULE = "ignore-without-reason"


@dataclass(frozen=True)
class Ignore:
    line: int
    rules: frozenset[str]
    reason: str


def read_ignores(text: str) -> list[Ignore]:
    if text.isascii() and "schema-tools" not in text.lower():  # no line can match (the usual file)
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = IGNORE.search(line)
        if match:
            rules = frozenset(r.strip().lower() for r in match.group("rules").split(","))
            found.append(Ignore(number, rules, (match.group("reason") or "").strip()))
    return found


def collect(text: str, file: str, statement_lines: list[int]) -> tuple[dict[tuple[str, int], set[str]], list[Finding]]:
    """The (file, line) -> rules each reasoned ignore covers, and a finding per ignore without a reason."""
    covered: dict[tuple[str, int], set[str]] = {}
    problems = []
    first_statement = min(statement_lines, default=1)
    for ignore in read_ignores(text):
        if not ignore.reason:
            problems.append(Finding(RULE, f"ignore of {', '.join(sorted(ignore.rules))} gives no reason, so it is not "
                                    "applied", hint="write: -- schema-tools: ignore RULE -- why this is safe",
                                    file=file, line=ignore.line, column=1))
            continue
        target = next((line for line in sorted(statement_lines) if line >= ignore.line), None)
        if target is not None:
            covered.setdefault((file, target), set()).update(ignore.rules)
        if ignore.line <= first_statement:
            covered.setdefault((file, 1), set()).update(ignore.rules)
    return covered, problems


def not_ignored(findings: list[Finding], covered: dict[tuple[str, int], set[str]]) -> list[Finding]:
    """The findings no reasoned ignore covers."""
    kept = []
    for f in findings:
        rules = covered.get((f.file or "", f.line or 0), set())
        if f.rule not in rules and "all" not in rules:
            kept.append(f)
    return kept
