"""What every verb prints, pinned byte for byte: the verbs are replaced by fakes that return
fixed results, so each branch of each verb's text is checked without a database."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from schema_tools import cli, commands, fleet
from schema_tools.engine.model import MigrationState, PlannedMigration, PlannedStatement, RunResult
from schema_tools.findings import Check, Finding, Report, Severity
from schema_tools.generator import Generated, GeneratedFile, Proof
from schema_tools.generator.state import Change, Draft
from schema_tools.server.embedded import Binaries, Status

PASSWORD = "s3cret-pw"
URL = f"postgresql://app:{PASSWORD}@db.example:5432/app"
WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Run:
    code: int
    out: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Callable[..., Run]:
    """``schema-tools ARGS`` in this process (``--database URL --migrations FOLDER`` added where
    the verb takes them): exit code and standard output."""
    folder = tmp_path / "migrations"
    folder.mkdir()

    def call(*args: str, where: bool = True) -> Run:
        extra = ["--database", URL, "--migrations", str(folder)] if where else []
        code = cli.main([*args, *extra])
        return Run(code, capsys.readouterr().out.replace(str(folder), "FOLDER"))

    return call


def fake(monkeypatch: pytest.MonkeyPatch, name: str, result: Any, progress: tuple[str, ...] = ()) -> None:
    """``commands.NAME`` returns ``result``, after calling its progress callback with each line."""

    def verb(*_: object, **kwargs: Any) -> Any:
        for line in progress:
            if kwargs.get("progress"):
                kwargs["progress"](line)
        return result

    monkeypatch.setattr(commands, name, verb)


FINDING = Finding("unique", "2 rows of users share email 'a@x'", Severity.ERROR, "users", "remove the duplicates")
PROBLEMS = Report("preflight", (Check("users.email", "users", (FINDING,)),))
CLEAN = Report("drift", (Check("users", "users"),))


# --- status ---------------------------------------------------------------------------------


def test_status_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "database_url", URL)
    fake(monkeypatch, "status", [MigrationState("0000_gone", "missing", WHEN), MigrationState("0001_a", "applied", WHEN),
                                 MigrationState("0002_b", "pending", None), MigrationState("0003_c", "pending", None)])
    assert run("status") == Run(0, (
        "database:   postgresql://app:***@db.example:5432/app\n"
        "migrations: FOLDER\n"
        "  missing  2024-01-02 03:04:05 UTC  0000_gone\n"
        "  applied  2024-01-02 03:04:05 UTC  0001_a\n"
        "  pending                           0002_b\n"
        "  pending                           0003_c\n"
        "1 applied, 2 pending, 1 missing\n"))
    fake(monkeypatch, "status", [])
    assert run("status").out.endswith("FOLDER\nno migrations\n")


# --- migrate, rollback ----------------------------------------------------------------------


def test_migrate_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "read_migrations", [])
    fake(monkeypatch, "migrate", RunResult([("0001_a", 12), ("0002_b", 3)], ["warning: 0001_a sorts before"]),
         ("warning: 0001_a sorts before", "applied 0001_a (12 ms)", "applied 0002_b (3 ms)"))
    assert run("migrate") == Run(0, "warning: 0001_a sorts before\napplied 0001_a (12 ms)\napplied 0002_b (3 ms)\n"
                                    "2 migration(s) applied\n")
    fake(monkeypatch, "migrate", RunResult())
    assert run("migrate") == Run(0, "nothing to apply: the database is up to date\n")
    fake(monkeypatch, "preflight", CLEAN)
    assert run("migrate", "--preflight") == Run(0, "nothing to apply: the database is up to date\n")
    fake(monkeypatch, "preflight", PROBLEMS)
    assert run("migrate", "--preflight") == Run(1, (
        "users\n"
        "  error unique: 2 rows of users share email 'a@x'\n"
        "      fix: remove the duplicates\n"
        "preflight: 1 checks, 1 error\n"
        "preflight: existing rows would make a pending migration fail; nothing was applied\n"))


def test_rollback_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "rollback", RunResult([("0002_b", 4), ("0001_a", 5)]),
         ("rolled back 0002_b (4 ms)", "rolled back 0001_a (5 ms)"))
    assert run("rollback", "--all") == Run(0, "rolled back 0002_b (4 ms)\nrolled back 0001_a (5 ms)\n"
                                              "2 migration(s) rolled back\n")
    fake(monkeypatch, "rollback", RunResult())
    assert run("rollback") == Run(0, "nothing to roll back\n")


# --- repair, baseline -----------------------------------------------------------------------


def test_repair_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "repair", ["re-recorded the checksum of 0001_a (aaaa -> bbbb)", "forgot 0000_gone (applied, ...)"])
    assert run("repair", "--forget-missing") == Run(0, (
        "re-recorded the checksum of 0001_a (aaaa -> bbbb)\nforgot 0000_gone (applied, ...)\n2 repair(s) recorded\n"))
    fake(monkeypatch, "repair", [])
    assert run("repair") == Run(0, "nothing to repair\n")


def test_baseline_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "baseline", (CLEAN, ["0001_a", "0002_b"]))
    assert run("baseline") == Run(0, "recorded 2 migration(s) as applied without running them: 0001_a, 0002_b\n")
    fake(monkeypatch, "baseline", (CLEAN, []))
    assert run("baseline") == Run(0, "no migrations to record\n")
    differs = Report("drift", (Check("users", "users", (Finding("missing-column", "users.email is missing"),)),))
    fake(monkeypatch, "baseline", (differs, []))
    assert run("baseline") == Run(1, (
        "users\n  error missing-column: users.email is missing\ndrift: 1 checks, 1 error\n"
        "baseline: the database differs from what the files declare; nothing was recorded\n"))
    assert run("baseline", "--format", "github") == Run(1, "::error title=missing-column::users.email is missing\n")


# --- plan -----------------------------------------------------------------------------------


def test_plan_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    long_sql = "CREATE INDEX usage_events_tenant_id_created_at_idx ON usage_events (tenant_id, created_at)"
    fake(monkeypatch, "read_migrations", [])
    fake(monkeypatch, "plan", [
        PlannedMigration("0001_a", "0001_a.sql", True, "5s", "10min", (
            PlannedStatement(1, "CREATE TABLE a (id bigint PRIMARY KEY)", "create table", "ACCESS EXCLUSIVE", ""),
            PlannedStatement(3, long_sql, "create index", "SHARE", ""),
            PlannedStatement(7, "INSERT INTO person VALUES (1)", "insert", "ROW EXCLUSIVE", "",
                             ("EXCLUSIVE on public.team", "ROW EXCLUSIVE on public.person"), "differs"),
            PlannedStatement(8, "UPDATE person SET id = 2", "update", "ROW EXCLUSIVE", "", (), "agrees"))),
        PlannedMigration("0002_b", "0002_b.sql", False, "30s", "0", (
            PlannedStatement(2, "CREATE INDEX CONCURRENTLY b_idx ON b (x)", "create index", "SHARE UPDATE EXCLUSIVE",
                             "", None, "not traced: outside a transaction"),)),
    ])
    fake(monkeypatch, "preflight", PROBLEMS)
    assert run("plan") == Run(0, (
        "0001_a  transactional, lock_timeout 5s, statement_timeout 10min\n"
        "  line 1     ACCESS EXCLUSIVE         CREATE TABLE a (id bigint PRIMARY KEY)\n"
        "  line 3     SHARE                    CREATE INDEX usage_events_tenant_id_created_at_idx ON usage_events ...\n"
        "  line 7     ROW EXCLUSIVE            INSERT INTO person VALUES (1)\n"
        "             observed: EXCLUSIVE on public.team; ROW EXCLUSIVE on public.person   <- differs from the static table\n"
        "  line 8     ROW EXCLUSIVE            UPDATE person SET id = 2\n"
        "             observed: no lock on an existing relation\n"
        "0002_b  not transactional (statement by statement), lock_timeout 30s, statement_timeout 0\n"
        "  line 2     SHARE UPDATE EXCLUSIVE   CREATE INDEX CONCURRENTLY b_idx ON b (x)\n"
        "             not traced: outside a transaction\n"
        "preflight: 2 rows of users share email 'a@x' -- fix: remove the duplicates\n"))
    fake(monkeypatch, "plan", [])
    fake(monkeypatch, "preflight", CLEAN)
    assert run("plan") == Run(0, "nothing to apply: the database is up to date\n")


# --- generate -------------------------------------------------------------------------------

EXPECT = "--expect", "expect.toml"
SQL = GeneratedFile("0004_x", "-- depends: 0003_c\nALTER TABLE t ADD COLUMN x int;\n", "ALTER TABLE t DROP COLUMN x;\n", True)
ONLINE = GeneratedFile("0005_x_online", "CREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n", "DROP INDEX t_x_idx;\n", False)
CHANGES = [Change("add column t.x"), Change("index on t(x) (CONCURRENTLY)")]


@pytest.mark.parametrize("result,code,text", [
    (Generated(Draft()), 0,
     "nothing to generate: the migration files already declare what the expectations ask\n"),
    (Generated(Draft(unexpressed=["column t.y: a type change"])), 1,
     "nothing to generate: the migration files already declare what the expectations ask (except what is listed below)\n"
     "could not express (write these by hand):\n  - column t.y: a type change\n"),
    (Generated(Draft(CHANGES), [SQL, ONLINE], proof=Proof(problems=["0004_x does not roll back", "lint: x"])), 1,
     "generate: the draft did not prove out, nothing was written:\n  0004_x does not roll back\n  lint: x\n"
     "\n-- 0004_x.sql (not written)\n-- depends: 0003_c\nALTER TABLE t ADD COLUMN x int;\n\n"
     "\n-- 0005_x_online.sql (not written)\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n\n"),
    (Generated(Draft(CHANGES), [SQL, ONLINE], [Path("w")]), 0,
     "wrote migrations/0004_x.sql and its rollback (in one transaction)\n"
     "wrote migrations/0005_x_online.sql and its rollback (outside a transaction, statement by statement)\n"
     "  - add column t.x\n  - index on t(x) (CONCURRENTLY)\n"
     "not proven (--no-check): run schema-tools lint, check-reversible and verify before applying\n"),
    (Generated(Draft(CHANGES[:1], ["column t.y: a type change"]), [SQL], [Path("w")],
               Proof(remaining=["t.z is missing", "u has no primary key"], already={"u has no primary key"}, checks=9)), 1,
     "wrote migrations/0004_x.sql and its rollback (in one transaction)\n  - add column t.x\n"
     "proven on a scratch database: lint clean; each migration rolls back to the schema before it and applies again "
     "to the same schema; verify: 7 of 9 checks pass\n"
     "  still open: t.z is missing\n  still open (before this draft too): u has no primary key\n"
     "could not express (write these by hand):\n  - column t.y: a type change\n"),
    (Generated(Draft(CHANGES[:1]), [SQL], [Path("w")], Proof(checks=9)), 0,
     "wrote migrations/0004_x.sql and its rollback (in one transaction)\n  - add column t.x\n"
     "proven on a scratch database: lint clean; each migration rolls back to the schema before it and applies again "
     "to the same schema; verify: 9 of 9 checks pass (all)\n"),
])
def test_generate_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, result: Generated, code: int,
                       text: str) -> None:
    fake(monkeypatch, "generate", result)
    assert run("generate", *EXPECT) == Run(code, text)


# --- db -------------------------------------------------------------------------------------

DATA = Path("/srv/project/.schema_tools/pg")
EMBEDDED = "postgresql://postgres@127.0.0.1:5433/dev?passfile=/srv/project/.schema_tools/pg/passfile"
RUNNING = Status(True, DATA, 5433, Binaries(Path("/usr/lib/postgresql/15/bin"), 15, "pg_config"), EMBEDDED)


def test_db_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "db_status", RUNNING)
    assert run("db", "status", where=False) == Run(0, (
        "embedded PostgreSQL 15 (pg_config, /usr/lib/postgresql/15/bin) running on 127.0.0.1:5433\n"
        f"data: {DATA}\nurl:  {EMBEDDED}\n"))
    fake(monkeypatch, "db_status", Status(False, DATA, None, None))
    assert run("db", "status", where=False) == Run(1, f"embedded PostgreSQL is not running (data: {DATA})\n")
    fake(monkeypatch, "db_start", RUNNING)
    assert run("db", "start", where=False) == Run(0, (
        f"embedded PostgreSQL 15 from pg_config running on 127.0.0.1:5433\ndata: {DATA}\nurl:  {EMBEDDED}\n"))
    fake(monkeypatch, "db_start", Status(True, DATA, 5433, None, EMBEDDED))
    assert run("db", "start", where=False).out.startswith("embedded PostgreSQL running on 127.0.0.1:5433\n")
    fake(monkeypatch, "database_url", EMBEDDED)
    assert run("db", "url", where=False) == Run(0, EMBEDDED + "\n")
    fake(monkeypatch, "db_stop", True)
    assert run("db", "stop", where=False) == Run(0, "embedded PostgreSQL stopped\n")
    fake(monkeypatch, "db_stop", False)
    assert run("db", "stop", where=False) == Run(0, "embedded PostgreSQL was not running\n")


# --- fleet ----------------------------------------------------------------------------------


@pytest.fixture
def two_databases(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    urls = [URL, URL.removesuffix("/app") + "/other"]
    monkeypatch.setattr(fleet, "read_fleet", lambda path: urls)
    yield urls


def _seconds(text: str) -> str:
    return re.sub(r"(?<= )\d+\.\d\d(?=  )", "S", re.sub(r'"seconds": [0-9.e-]+', '"seconds": S', text))


def test_fleet_text(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, two_databases: list[str]) -> None:
    fake(monkeypatch, "migrate", RunResult([("0001_a", 1)]))
    done = run("migrate", "--fleet", "fleet.toml", "--jobs", "1", where=False)
    assert (done.code, _seconds(done.out)) == (0, (
        "database                                    outcome   seconds  detail\n"
        "postgresql://app:***@db.example:5432/app    ok           S  1 migration(s) applied\n"
        "postgresql://app:***@db.example:5432/other  ok           S  1 migration(s) applied\n"
        "2 databases: 2 ok, 0 problems, 0 error\n"))
    fake(monkeypatch, "validate", PROBLEMS)
    done = run("validate", "--fleet", "fleet.toml", "--json", where=False)
    assert (done.code, _seconds(done.out)) == (1, """[
  {
    "database": "postgresql://app:***@db.example:5432/app",
    "outcome": "problems",
    "detail": "preflight: 1 checks, 1 error",
    "seconds": S
  },
  {
    "database": "postgresql://app:***@db.example:5432/other",
    "outcome": "problems",
    "detail": "preflight: 1 checks, 1 error",
    "seconds": S
  }
]
""")
