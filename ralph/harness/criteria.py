"""Free-text acceptance criteria, read as expectations where their shape allows, else "unverified".

Understood shapes (the seed log's):
    "sessions: id, user_id, role (owner/admin/member), scopes (JSON), key (UNIQUE), UNIQUE(a, b)"
    "Indexes on: tenant_id, key_hash, (tenant_id, period) for usage_events"
    "Migration runs without errors locally"     (proved by the shadow and target applies)
A criterion in one of the first two shapes becomes a table expectation and is checked by verify,
like any other; so does one that quotes a CHECK expression or a foreign key reference
(``tenants(id)``) of the story's own expectations. Anything else, or a listing with an item this cannot read, is reported as
unverified, never counted as passed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from schema_tools import Catalog, ColumnSpec, TableExpectation, verify_catalog

TABLE_LIST = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*:\s*(.+)$")
INDEXES = re.compile(r"^\s*Indexes on:\s*(.+?)\s+for\s+(\w+)\s*$", re.IGNORECASE)
RUNS = re.compile(r"\bruns?\b.*\bwithout errors\b", re.IGNORECASE)
COLUMN = re.compile(r"^(\w+)\s*(?:\((.*)\))?$")
VERIFIED, FAILED, UNVERIFIED = "verified", "failed", "unverified"
JSON_TYPES = "json | jsonb"


@dataclass(frozen=True)
class Verdict:
    criterion: str
    status: str  # verified | failed | unverified
    detail: str = ""


def _items(text: str) -> list[str]:
    """Comma-separated items, commas inside parentheses kept."""
    items, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    return [i for i in items + [current.strip()] if i]


def _names(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.strip("()").split(",") if c.strip())


def _listing(table: str, text: str, criterion: str) -> TableExpectation | None:
    columns: list[ColumnSpec] = []
    unique: list[tuple[str, ...]] = []
    allowed: dict[str, tuple[str, ...]] = {}
    for item in _items(text):
        match = COLUMN.match(item)
        if match is None:
            return None
        if match.group(1).upper() == "UNIQUE" and match.group(2) is not None:  # UNIQUE(a, b)
            unique.append(_names(match.group(2)))
            continue
        name, note = match.group(1), (match.group(2) or "").strip()
        if note.upper() == "UNIQUE":
            unique.append((name,))
        elif "/" in note:
            allowed[name] = tuple(v.strip() for v in note.split("/"))
        elif note and note.upper() != "JSON":
            return None
        columns.append(ColumnSpec(name, JSON_TYPES if note.upper() == "JSON" else None))
    return TableExpectation(table, "criteria", 0, criterion, columns=tuple(columns), unique=tuple(unique),
                            allowed_values=allowed)


def expectation_of(criterion: str) -> TableExpectation | None:
    """The expectation a criterion states, or None when it is not in a shape this reads."""
    indexes = INDEXES.match(criterion)
    if indexes:
        return TableExpectation(indexes.group(2), "criteria", 0, criterion,
                                indexed=tuple(_names(i) for i in _items(indexes.group(1))))
    listing = TABLE_LIST.match(criterion)
    return _listing(listing.group(1), listing.group(2), criterion) if listing else None


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("(", " ( ").replace(")", " ) ").split())


def stated_by(criterion: str, expectations: Sequence[TableExpectation]) -> TableExpectation | None:
    """The part of the story's expectations a criterion quotes: a CHECK expression (``amount_cents
    >= 0``) or a foreign key's reference (``tenants(id)``) written in the criterion's text."""
    text = _folded(criterion)
    for e in expectations:
        for expression in e.checks:
            if _folded(expression) in text:
                return replace(TableExpectation(e.table, "criteria", 0, criterion), checks=(expression,))
        for fk in e.foreign_keys:
            if _folded(f"{fk.ref_table}({', '.join(fk.ref_columns)})") in text or \
                    _folded(f"{fk.ref_table}({','.join(fk.ref_columns)})") in text:
                return replace(TableExpectation(e.table, "criteria", 0, criterion), foreign_keys=(fk,))
    return None


def judge(criteria: tuple[str, ...], catalog: Catalog, applied_cleanly: bool,
          expectations: Sequence[TableExpectation] = ()) -> list[Verdict]:
    """A verdict for each criterion against the catalog (a criterion quoting one of the story's
    expectations is judged by it)."""
    verdicts = []
    for criterion in criteria:
        expectation = expectation_of(criterion) or stated_by(criterion, expectations)
        if expectation is not None:
            problems = [f.message for f in verify_catalog(catalog, [expectation], invariants=False).errors]
        elif RUNS.search(criterion):
            problems = [] if applied_cleanly else ["the migrations did not apply cleanly"]
        else:
            verdicts.append(Verdict(criterion, UNVERIFIED, "no machine check for this wording"))
            continue
        verdicts.append(Verdict(criterion, FAILED if problems else VERIFIED, "; ".join(dict.fromkeys(problems))))
    return verdicts
