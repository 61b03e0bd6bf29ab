"""pytest plugin (entry point ``pytest11``): verify a database's schema from your own suite.

    def test_schema(verify_schema, postgresql):          # any psycopg connection or URL
        verify_schema(postgresql, expect=["schema.toml"])

The test fails with verify's findings, grouped by table, as its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg
import pytest

from .catalog import read_catalog
from .server.connect import connect_url
from .expect import load_expectations, verify
from .findings import Report, render

VerifySchema = Callable[..., Report]


def _verify(database: psycopg.Connection | str, expect: Iterable[str | Path] = (), invariants: bool = True,
            disable: Iterable[str] = (), schemas: Iterable[str] | None = None) -> Report:
    expectations = [e for path in expect for e in load_expectations(Path(path))]
    if isinstance(database, str):
        with connect_url(database, application_name="schema-tools pytest") as conn:
            catalog = read_catalog(conn, list(schemas) if schemas is not None else None)
    else:
        catalog = read_catalog(database, list(schemas) if schemas is not None else None)
    report = verify(catalog, expectations, disable, invariants)
    if report.errors:
        pytest.fail(render(report, "text"), pytrace=False)
    return report


@pytest.fixture
def verify_schema() -> VerifySchema:
    """``verify_schema(database, expect=[files], invariants=True, disable=[], schemas=None)``:
    fails the test with the findings; returns the report when everything holds."""
    return _verify
