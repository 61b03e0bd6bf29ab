"""--fleet: 50 databases on the local server, a few made to fail; the run goes past them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Cli, Cluster

COUNT = 50


@pytest.fixture
def fleet(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A fleet file naming 50 databases: the last three do not exist, the first two cannot be migrated."""
    names = [f"fleet_{i:02d}" for i in range(COUNT)]
    with cluster.admin() as admin:
        for name in names[:-3]:  # the last three do not exist
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    for name in names[:2]:  # two hold a table that collides with the first migration
        with __import__("psycopg").connect(cluster.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE users (x int)")
    template = cluster.url("{name}").replace("%7Bname%7D", "{name}")
    path = tmp_path / "fleet.toml"
    path.write_text(f"template = {json.dumps(template)}\nnames = {json.dumps(names)}\n")
    yield path, names
    with cluster.admin() as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_fifty_databases_eight_at_a_time(cli: Cli, fleet: tuple[Path, list[str]]) -> None:
    path, names = fleet
    result = cli("migrate", "--fleet", str(path), "--jobs", "8")
    assert result.code == 2, result.err
    rows = result.out.splitlines()
    # a migration the database refuses is a problem found (1); a database that is not there, an error (2)
    assert rows[-1] == f"{COUNT} databases: {COUNT - 5} ok, 2 problems, 3 error"
    assert sum(" ok " in r for r in rows) == COUNT - 5
    refused = [r for r in rows if " problems " in r]
    missing = [r for r in rows if " error " in r]
    assert [r.split("/")[3].split("?")[0] for r in refused + missing] == names[:2] + names[-3:]
    assert all("relation \"users\" already exists" in r for r in refused)
    assert all("does not exist" in r for r in missing)

    again = cli("verify", "--fleet", str(path), "--jobs", "8", "--json")
    outcomes = json.loads(again.out)
    assert len(outcomes) == COUNT and again.code == 2
    assert {o["outcome"] for o in outcomes[2:-3]} == {"ok"}
    assert outcomes[0]["outcome"] == "problems"  # verify ran and found the half-built schema


def test_bad_fleet_files(cli: Cli, tmp_path: Path) -> None:
    for body, message in (("names = ['a']\n", "template must be a URL containing {name}"),
                          ("databases = ['mysql://x@h/db']\n", "is not a PostgreSQL URL"),
                          ("hosts = []\n", "unknown key 'hosts'"), ("", "no databases")):
        path = tmp_path / "fleet.toml"
        path.write_text(body)
        result = cli("validate", "--fleet", str(path))
        assert result.code == 2 and message in result.err, result.err
