"""pytest plugin (entry point ``pytest11``): verify a database's schema from your own suite.

    def test_schema(verify_schema, postgresql):          # any psycopg connection or URL
        verify_schema(postgresql, expect=["schema.toml"])

The test fails with verify's findings, grouped by table, as its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .findings import Report, render

if TYPE_CHECKING:
    import psycopg

VerifySchema = Callable[..., Report]


def _verify(database: psycopg.Connection | str, expect: Iterable[str | Path] = (), invariants: bool = True,
            disable: Iterable[str] = (), schemas: Iterable[str] | None = None) -> Report:
    # Imported here: the plugin loads wherever the package is installed, on every pytest start.
    from .catalog.read import read_catalog
    from .commands import load_expectations, verify_catalog
    from .server.connect import connect_url

    expectations = load_expectations(Path(path) for path in expect)
    wanted = list(schemas) if schemas is not None else None
    if isinstance(database, str):
        with connect_url(database, application_name="schema-tools pytest") as conn:
            catalog = read_catalog(conn, wanted)
    else:
        catalog = read_catalog(database, wanted)
    report = verify_catalog(catalog, expectations, disabled=disable, invariants=invariants)
    if report.errors:
        pytest.fail(render(report, "text"), pytrace=False)
    return report


@pytest.fixture
def verify_schema() -> VerifySchema:
    """``verify_schema(database, expect=[files], invariants=True, disable=[], schemas=None)``:
    fails the test with the findings; returns the report when everything holds."""
    return _verify
