"""The database ``ralph report --database URL`` attaches: its schema (for the ER diagram) and
the verify results, labelled with its name and the time they were read. Only the database named:
whatever database happens to be around may have nothing to do with the log."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from schema_tools import SchemaToolsError

if TYPE_CHECKING:
    from schema_tools import Catalog, Report


class Attached(NamedTuple):
    catalog: Catalog | None
    verify: Report | None
    note: str  # what the report says about the database (or its absence)


def attach(database: str | None, expect: list[Path] | None = None) -> Attached:
    """Read and verify ``database`` (against ``expect``, else the project's expectations); a
    database that cannot be read is a note, not an error: the log's report stands on its own."""
    if not database:
        return Attached(None, None, "No database attached (ralph report --database URL adds its ER diagram and verify results).")
    from schema_tools import connect, load_expectations, load_settings, verify_catalog
    from schema_tools.harness import mask_url, read_schema_on

    settings = load_settings(database=database)
    try:
        expectations = load_expectations(expect if expect is not None else settings.expect_files)
        with connect(settings, "ralph report") as conn:
            catalog = read_schema_on(conn, settings)
            name = conn.info.dbname
        report = verify_catalog(catalog, expectations, disabled=settings.disabled_invariants)
    except SchemaToolsError as exc:
        return Attached(None, None, f"Database not reachable or not verifiable: {exc.one_line()}")
    read_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Attached(catalog, report, f"Database {name} ({mask_url(database)}), read {read_at}, when this report was "
                                     f"written, not when the log was: {len(catalog.tables)} tables.")
