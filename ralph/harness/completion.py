"""The completion block written to progress.log when a story passes, in the seed's style,
generated from the live catalog (never written by hand). Its lines are bullet texts: the log's
grammar (``logformat.bullet``) adds the ``- ``."""

from __future__ import annotations

from pathlib import Path

from schema_tools import Catalog, Migration, declared_schema

from .criteria import UNVERIFIED, Verdict
from .stories import Story


def _column_notes(catalog: Catalog, table_name: str) -> str:
    table = catalog.table(table_name)
    if table is None:
        return f"{table_name}: (missing)"
    single_unique = {u.columns[0] for u in table.uniques if len(u.columns) == 1}
    items = []
    for column in table.columns:
        allowed = table.allowed_values(column.name)
        note = "/".join(allowed) if allowed else "JSON" if column.type in ("json", "jsonb") else \
            "UNIQUE" if column.name in single_unique else ""
        items.append(f"{column.name} ({note})" if note else column.name)
    items += [f"UNIQUE({', '.join(u.columns)})" for u in table.uniques if len(u.columns) > 1]
    return f"{table_name}: {', '.join(items)}"


def _index_line(catalog: Catalog, table_name: str) -> str | None:
    table = catalog.table(table_name)
    if table is None:
        return None
    leads = []
    for index in sorted(table.indexes, key=lambda i: i.name):
        if index.primary or not index.valid:
            continue
        lead = index.keys[0] if len(index.keys) == 1 else f"({', '.join(index.keys)})"
        if lead not in leads:
            leads.append(lead)
    return f"Indexes on: {', '.join(leads)} for {table_name}" if leads else None


def completion_lines(story: Story, migrations: list[Migration], catalog: Catalog, root: Path,
                     verdicts: list[Verdict], checks: int) -> list[str]:
    """The bullets of the block (the caller writes the ``[ts] ID completed`` line)."""
    lines = []
    for m in migrations:
        created = list(declared_schema([m]).tables)
        try:
            shown = m.path.relative_to(root)
        except ValueError:
            shown = m.path
        tables = f" with {', '.join(created)} table{'s' if len(created) > 1 else ''}" if created else ""
        lines.append(f"Created {shown}{tables}")
    for table in story.tables:
        lines.append(_column_notes(catalog, table))
    for table in story.tables:
        line = _index_line(catalog, table)
        if line:
            lines.append(line)
    lines.append(f"Applied to a fresh shadow database and then to the target without errors; lint clean; "
                 f"{checks} expectations verified against the target")
    lines += [f"Unverified (no machine check): {v.criterion}" for v in verdicts if v.status == UNVERIFIED]
    return lines
