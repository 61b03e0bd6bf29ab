"""pytest plugin (entry point ``pytest11``): verify a database's schema from your own suite, and
a loader that gives pytest-postgresql's databases the project's migrations.

    postgresql_proc = factories.postgresql_proc(load=[load_migrations()])  # the template, migrated once
    postgresql = factories.postgresql("postgresql_proc")                   # each test: a migrated copy

    def test_schema(verify_schema, postgresql):          # any psycopg connection or URL
        verify_schema(postgresql, expect=["schema.toml"])

The test fails with verify's findings, grouped by table, as its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


Loader = Callable[..., None]


def load_migrations(migrations: str | Path | None = None) -> Loader:
    """A loader for pytest-postgresql's ``load=[...]`` (``postgresql_proc`` or ``postgresql_noproc``):
    applies the project's migrations (``migrations``, else the project's folder as schema-tools
    finds it from the current folder) to the template database with schema-tools' own runner, so
    every test's copy starts migrated. A migration that fails fails the session's set-up."""
    here = Path.cwd()
    folder = (here / migrations).resolve() if migrations is not None else None

    def load(host: str, port: int | str, user: str, dbname: str, password: str | None = None, **_: Any) -> None:
        from psycopg.conninfo import make_conninfo

        from .commands import migrate
        from .config import load_settings

        conninfo = make_conninfo(host=host, port=str(port), user=user, dbname=dbname, password=password or None)
        migrate(load_settings(database=conninfo, migrations=folder, cwd=here))

    return load
