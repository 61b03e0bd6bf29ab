"""Free-text acceptance criteria, checked by machine where their shape allows, else "unverified".

Understood shapes (the seed log's):
    "sessions: id, user_id, role (owner/admin/member), scopes (JSON), key (UNIQUE), UNIQUE(a, b)"
    "Indexes on: tenant_id, key_hash, (tenant_id, period) for usage_events"
    "Migration runs without errors locally"     (proved by the shadow and target applies)
Anything else is reported as unverified, never counted as passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schema_tools import Catalog, in_list

TABLE_LIST = re.compile(r"^\s*(\w+)\s*:\s*(.+)$")
INDEXES = re.compile(r"^\s*Indexes on:\s*(.+?)\s+for\s+(\w+)\s*$", re.IGNORECASE)
RUNS = re.compile(r"\bruns?\b.*\bwithout errors\b", re.IGNORECASE)
VERIFIED, FAILED, UNVERIFIED = "verified", "failed", "unverified"


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


def _check_columns(catalog: Catalog, table_name: str, text: str) -> list[str]:
    table = catalog.table(table_name)
    if table is None:
        return [f"table {table_name} does not exist"]
    problems = []
    for item in _items(text):
        unique = re.match(r"^UNIQUE\s*\((.+)\)$", item, re.IGNORECASE)
        if unique:
            cols = {c.strip() for c in unique.group(1).split(",")}
            if not (any(set(u.columns) == cols for u in table.uniques) or
                    any(i.unique and i.predicate is None and set(i.keys) == cols for i in table.indexes)):
                problems.append(f"nothing makes ({', '.join(sorted(cols))}) unique on {table_name}")
            continue
        match = re.match(r"^(\w+)\s*(?:\((.*)\))?$", item)
        if not match:
            continue
        name, note = match.group(1), (match.group(2) or "").strip()
        column = table.column(name)
        if column is None:
            problems.append(f"column {table_name}.{name} does not exist")
            continue
        if note.upper() == "UNIQUE" and not any(set(u.columns) == {name} for u in table.uniques):
            problems.append(f"{table_name}.{name} is not unique")
        elif note.upper() == "JSON" and column.type not in ("json", "jsonb"):
            problems.append(f"{table_name}.{name} is {column.type}, not JSON")
        elif "/" in note:
            wanted = {v.strip() for v in note.split("/")}
            allowed = next((set(v) for c in table.checks if c.columns == (name,) and (v := in_list(c.expression, name))),
                           None)
            if allowed != wanted:
                problems.append(f"{table_name}.{name} allows {sorted(allowed) if allowed else 'any value'}, "
                                f"expected {sorted(wanted)}")
    return problems


def _check_indexes(catalog: Catalog, table_name: str, text: str) -> list[str]:
    table = catalog.table(table_name)
    if table is None:
        return [f"table {table_name} does not exist"]
    problems = []
    for item in _items(text):
        cols = tuple(c.strip() for c in item.strip("()").split(","))
        if not any(i.valid and i.predicate is None and i.keys[: len(cols)] == cols for i in table.indexes):
            problems.append(f"no index on {table_name} leads with ({', '.join(cols)})")
    return problems


def judge(criteria: tuple[str, ...], catalog: Catalog, applied_cleanly: bool) -> list[Verdict]:
    """A verdict for each criterion against the live catalog."""
    verdicts = []
    for criterion in criteria:
        indexes = INDEXES.match(criterion)
        listing = TABLE_LIST.match(criterion)
        if indexes:
            problems = _check_indexes(catalog, indexes.group(2), indexes.group(1))
        elif RUNS.search(criterion):
            problems = [] if applied_cleanly else ["the migrations did not apply cleanly"]
        elif listing and catalog.table(listing.group(1)) is not None or (listing and listing.group(1).islower()):
            problems = _check_columns(catalog, listing.group(1), listing.group(2))  # type: ignore[union-attr]
        else:
            verdicts.append(Verdict(criterion, UNVERIFIED, "no machine check for this wording"))
            continue
        verdicts.append(Verdict(criterion, FAILED if problems else VERIFIED, "; ".join(problems)))
    return verdicts
