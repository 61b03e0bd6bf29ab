"""What every verb prints (``schema_tools/output/``, and ``findings/`` for reports): the text
pinned byte for byte, and the JSON -- it parses, has the keys the README documents and agrees
with the text. The verbs are replaced by fakes that return fixed results, so every branch is
checked without a database; the last test runs every verb for real, with a password in the URL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import MIGRATIONS, ROOT, Cli, Cluster, write_migration
from schema_tools import cli, commands, fleet
from schema_tools.engine.model import MigrationState, PlannedMigration, PlannedStatement, RunResult
from schema_tools.findings import Check, Finding, Report, Severity
from schema_tools.generator import Generated, GeneratedFile, Proof
from schema_tools.generator.state import Change, Draft
from schema_tools.server.embedded import Binaries, Status

PASSWORD = "s3cret-pw"
URL = f"postgresql://app:{PASSWORD}@db.example:5432/app"
WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


REPORT = {"tool", "ok", "summary", "checks"}
DB = {"running", "port", "data_dir", "binaries", "url"}
DOCUMENTED: dict[str, set[str]] = {
    "status": {"database", "migrations_dir", "migrations"},
    "plan": {"migrations", "preflight"},
    "migrate": {"applied", "notes", "preflight"},
    "rollback": {"rolled_back"},
    "repair": {"repairs"},
    "baseline": REPORT | {"recorded"},
    **{verb: REPORT for verb in ("validate", "verify", "lint", "drift", "integrity", "check-reversible")},
    "generate": {"ok", "written", "files", "changes", "unexpressed", "proof"},
    "db start": DB, "db status": DB, "db url": {"url"}, "db stop": {"stopped"},
    "--fleet": {"database", "outcome", "detail", "seconds"},  # of each entry of the list
}
"""The top-level keys of each command's JSON, as the README's table lists them."""


@dataclass(frozen=True)
class Run:
    code: int
    out: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Callable[..., Run]:
    """``schema-tools ARGS`` in this process (``--database URL --migrations FOLDER`` added unless
    ``where`` is False): exit code and standard output."""
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
        "preflight: 1 check, 1 error\n"
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
        "users\n  error missing-column: users.email is missing\ndrift: 1 check, 1 error\n"
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
    "detail": "preflight: 1 check, 1 error",
    "seconds": S
  },
  {
    "database": "postgresql://app:***@db.example:5432/other",
    "outcome": "problems",
    "detail": "preflight: 1 check, 1 error",
    "seconds": S
  }
]
""")


# --- JSON: parses, has the documented keys, agrees with the text ----------------------------


def keys(verb: str, run: Run) -> Any:
    data = run.json()
    assert set(data) == DOCUMENTED[verb], verb
    assert PASSWORD not in run.out
    return data


def test_the_readme_documents_each_command_s_keys() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Machine output: `--format json`", 1)[1].split("\n### ", 1)[0]
    rows = {cell.strip(): line for line in table.splitlines() if line.startswith("| `")
            for cell in line.split("|")[1].split(",")}
    for verb, documented in DOCUMENTED.items():
        row = rows[f"`{verb}`"]
        named = documented - REPORT if verb == "baseline" else documented  # "the drift report's keys and ..."
        assert all(f"`{key}`" in row for key in named), (verb, named, row)
    for block in re.findall(r"```json\n(.*?)```", table, re.S):  # the examples: each a command's keys
        assert set(json.loads(block)) in DOCUMENTED.values(), block


def test_status_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "database_url", URL)
    fake(monkeypatch, "status", [MigrationState("0000_gone", "missing", WHEN), MigrationState("0001_a", "applied", WHEN),
                                 MigrationState("0002_b", "pending", None)])
    text, data = run("status"), keys("status", run("status", "--format", "json"))
    assert run("status", "--json") == run("status", "--format", "json")
    assert data["database"] == "postgresql://app:***@db.example:5432/app" and data["migrations_dir"] == "FOLDER"
    assert data["migrations"][0] == {"id": "0000_gone", "state": "missing", "applied_at": "2024-01-02T03:04:05+00:00",
                                     "checksum": None, "duration_ms": None, "applied_by": None}
    assert [(m["state"], m["id"]) for m in data["migrations"]] == \
        [(line.split()[0], line.split()[-1]) for line in text.out.splitlines()[2:-1]]


def test_migrate_and_rollback_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "read_migrations", [])
    fake(monkeypatch, "migrate", RunResult([("0001_a", 12), ("0002_b", 3)], ["warning: 0001_a sorts before"]),
         ("warning: 0001_a sorts before", "applied 0001_a (12 ms)", "applied 0002_b (3 ms)"))
    text, done = run("migrate"), run("migrate", "--format", "json")  # JSON: no progress lines before it
    data = keys("migrate", done)
    assert data == {"applied": [{"id": "0001_a", "ms": 12}, {"id": "0002_b", "ms": 3}],
                    "notes": ["warning: 0001_a sorts before"], "preflight": None}
    assert [f"applied {a['id']} ({a['ms']} ms)" for a in data["applied"]] == text.out.splitlines()[1:3]
    fake(monkeypatch, "preflight", PROBLEMS)
    refused = run("migrate", "--preflight", "--format", "json")
    data = keys("migrate", refused)
    assert refused.code == run("migrate", "--preflight").code == 1
    assert data["applied"] == [] and data["preflight"]["ok"] is False
    assert data["preflight"]["summary"] == "preflight: 1 check, 1 error"
    fake(monkeypatch, "rollback", RunResult([("0002_b", 4)]), ("rolled back 0002_b (4 ms)",))
    text, done = run("rollback"), run("rollback", "--format", "json")
    assert keys("rollback", done) == {"rolled_back": [{"id": "0002_b", "ms": 4}]}
    assert text.out.splitlines()[0] == "rolled back 0002_b (4 ms)"


def test_repair_and_baseline_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    repairs = ["re-recorded the checksum of 0001_a (aaaa -> bbbb)"]
    fake(monkeypatch, "repair", repairs)
    assert keys("repair", run("repair", "--format", "json")) == {"repairs": repairs}
    assert run("repair").out.splitlines()[:-1] == repairs
    fake(monkeypatch, "baseline", (CLEAN, ["0001_a", "0002_b"]))
    done = run("baseline", "--format", "json")
    assert done.code == 0 and keys("baseline", done)["recorded"] == ["0001_a", "0002_b"]
    assert ", ".join(done.json()["recorded"]) in run("baseline").out
    differs = Report("drift", (Check("users", "users", (Finding("missing-column", "users.email is missing"),)),))
    fake(monkeypatch, "baseline", (differs, []))
    done = run("baseline", "--format", "json")
    data = keys("baseline", done)
    assert done.code == 1 and data["recorded"] == [] and data["ok"] is False
    assert data["summary"] in run("baseline").out.splitlines()


def test_plan_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "read_migrations", [])
    statement = PlannedStatement(1, "CREATE INDEX b_idx ON b (x)", "CREATE INDEX", "SHARE", "blocks writes",
                                 ("SHARE on public.b",), "agrees")
    fake(monkeypatch, "plan", [PlannedMigration("0002_b", "/m/0002_b.sql", True, "5s", "10min", (statement,))])
    fake(monkeypatch, "preflight", PROBLEMS)
    text, done = run("plan"), run("plan", "--json")
    data = keys("plan", done)
    assert done == run("plan", "--format", "json")
    assert data["migrations"] == [{"id": "0002_b", "file": "/m/0002_b.sql", "transactional": True, "lock_timeout": "5s",
                                   "statement_timeout": "10min", "statements": [{
                                       "line": 1, "sql": "CREATE INDEX b_idx ON b (x)", "kind": "CREATE INDEX",
                                       "lock": "SHARE", "note": "blocks writes", "observed": ["SHARE on public.b"],
                                       "traced": "agrees"}]}]
    assert set(data["preflight"]) == REPORT
    lines = text.out.splitlines()
    assert lines[0].startswith("0002_b  transactional") and "observed: SHARE on public.b" in lines[2]
    assert lines[-1] == f"preflight: {FINDING.message} -- fix: {FINDING.hint}"
    assert data["preflight"]["checks"][0]["findings"][0]["message"] == FINDING.message


@pytest.mark.parametrize("verb", ["validate", "verify", "lint", "drift", "integrity", "check-reversible"])
def test_report_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, verb: str) -> None:
    fake(monkeypatch, verb.replace("-", "_"), PROBLEMS)
    args = (verb, "--migrations", "m") if verb == "lint" else (verb, "--database", URL)
    text, done = run(*args, where=False), run(*args, "--format", "json", where=False)
    data = keys(verb, done)
    assert text.code == done.code == 1
    assert data["summary"] == text.out.splitlines()[-1] and data["ok"] is False
    assert [f["message"] for c in data["checks"] for f in c["findings"]] == [FINDING.message]


@pytest.mark.parametrize("result", [
    Generated(Draft()),
    Generated(Draft(unexpressed=["column t.y: a type change"])),
    Generated(Draft(CHANGES), [SQL, ONLINE], proof=Proof(problems=["0004_x does not roll back"])),
    Generated(Draft(CHANGES), [SQL, ONLINE], [Path("/m/0004_x.sql")]),
    Generated(Draft(CHANGES[:1], ["column t.y: a type change"]), [SQL], [Path("/m/0004_x.sql")],
              Proof(remaining=["t.z is missing", "u has no primary key"], already={"u has no primary key"}, checks=9)),
])
def test_generate_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, result: Generated) -> None:
    fake(monkeypatch, "generate", result)
    text, done = run("generate", *EXPECT), run("generate", *EXPECT, "--format", "json")
    data = keys("generate", done)
    assert done.code == text.code and data["ok"] is (text.code == 0)
    assert data["written"] == [str(p) for p in result.written]
    assert [f["id"] for f in data["files"]] == [f.id for f in result.files]
    assert all(f"{f['id']}.sql" in text.out for f in data["files"])
    assert all(line in text.out for line in data["unexpressed"])
    if result.proof is None or result.proof.holds:  # else the text shows the files' SQL instead of the changes
        assert all(f"  - {line}" in text.out for line in data["changes"])
    else:
        assert all(f["sql"] in text.out for f in data["files"])
    if result.proof is None:
        assert data["proof"] is None
    else:
        assert all(p in text.out for p in data["proof"]["problems"] + data["proof"]["remaining"])
        assert data["proof"]["holds"] or "did not prove out" in text.out
        if data["proof"]["holds"]:
            assert f"verify: {data['proof']['passed']} of {data['proof']['checks']} checks pass" in text.out


def test_db_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    fake(monkeypatch, "db_status", RUNNING)
    data = keys("db status", run("db", "status", "--format", "json", where=False))
    assert data == {"running": True, "port": 5433, "data_dir": str(DATA), "url": EMBEDDED,
                    "binaries": {"major": 15, "source": "pg_config", "bindir": "/usr/lib/postgresql/15/bin"}}
    assert all(str(value) in run("db", "status", where=False).out for value in (DATA, EMBEDDED, 5433, 15))
    fake(monkeypatch, "db_status", Status(False, DATA, None, None))
    stopped = run("db", "status", "--format", "json", where=False)
    assert stopped.code == 1 and keys("db status", stopped)["running"] is False
    fake(monkeypatch, "db_start", RUNNING)
    assert keys("db start", run("db", "start", "--format", "json", where=False)) == data
    fake(monkeypatch, "database_url", EMBEDDED)
    assert keys("db url", run("db", "url", "--format", "json", where=False)) == {"url": run("db", "url", where=False).out.strip()}
    for was_running in (True, False):
        fake(monkeypatch, "db_stop", was_running)
        assert keys("db stop", run("db", "stop", "--format", "json", where=False)) == {"stopped": was_running}


def test_fleet_json(run: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, two_databases: list[str]) -> None:
    fake(monkeypatch, "migrate", RunResult([("0001_a", 1)]))
    outcomes = run("migrate", "--fleet", "fleet.toml", "--format", "json", where=False).json()
    assert all(set(o) == DOCUMENTED["--fleet"] for o in outcomes) and PASSWORD not in json.dumps(outcomes)
    rows = run("migrate", "--fleet", "fleet.toml", where=False).out.splitlines()[1:-1]
    assert [(o["database"], o["outcome"], o["detail"]) for o in outcomes] == \
        [(row.split()[0], row.split()[1], row.split(None, 3)[3]) for row in rows]


# --- every verb for real: JSON that parses, and never the password --------------------------

SECRET = "Pw-json;7%Quoted"


def test_no_command_s_json_holds_the_password(cli: Cli, cluster: Cluster, tmp_path: Path) -> None:
    with cluster.admin() as admin:
        admin.execute("DROP ROLE IF EXISTS json_owner")
        admin.execute(f"CREATE ROLE json_owner LOGIN CREATEDB PASSWORD '{SECRET}'")
        admin.execute("CREATE DATABASE json_db OWNER json_owner")
    url = f"postgresql://json_owner:{quote(SECRET, safe='')}@127.0.0.1:{cluster.port}/json_db"
    root = tmp_path / "project"
    for mid in ("0001_users", "0002_core_tables"):
        write_migration(root / "migrations", mid, (MIGRATIONS / f"{mid}.sql").read_text(),
                        (MIGRATIONS / f"{mid}.rollback.sql").read_text())
    (root / "expect.toml").write_text('[tables.tenants]\ncolumns.region = "text null"\n')
    (root / "fleet.toml").write_text(f"databases = [{json.dumps(url)}]\n")
    (root / "pyproject.toml").write_text('[tool.schema_tools.verify]\nexpect = ["expect.toml"]\n')
    runs = [
        ("status", "--format", "json"), ("status", "--json"), ("plan", "--json"),
        ("migrate", "--to", "0001_users", "--preflight", "--format", "json"), ("plan", "--trace", "--format", "json"),
        ("migrate", "--format", "json"), ("validate", "--format", "json"), ("verify", "--format", "json"),
        ("lint", "--format", "json"), ("drift", "--format", "json"), ("integrity", "--format", "json"),
        ("check-reversible", "--format", "json"), ("repair", "--format", "json"),
        ("rollback", "--format", "json"), ("baseline", "--format", "json"), ("migrate", "--format", "json"),
        ("generate", "--expect", "expect.toml", "--format", "json"),  # proven on a scratch database
        ("rollback", "--all", "--yes", "--format", "json"),
        ("migrate", "--fleet", "fleet.toml", "--format", "json"), ("validate", "--fleet", "fleet.toml", "--json"),
        ("db", "start", "--format", "json"), ("db", "status", "--format", "json"), ("db", "url", "--format", "json"),
    ]
    outputs: list[str] = []
    try:
        for args in runs:
            done = cli(*args, cwd=root, env={"DATABASE_URL": url})
            outputs += [done.out, done.err]
            assert done.code in (0, 1) and not done.err, (args, done.err)
            data = json.loads(done.out)
            verb = "--fleet" if "--fleet" in args else " ".join(args[:2]) if args[0] == "db" else args[0]
            assert set(data[0] if verb == "--fleet" else data) == DOCUMENTED[verb], args
            if args[0] in ("validate", "verify", "lint", "drift", "integrity", "check-reversible") and verb != "--fleet":
                text = cli(*args[:-2], cwd=root, env={"DATABASE_URL": url})
                assert (text.code, text.out.splitlines()[-1]) == (done.code, data["summary"]), args
        assert [p.name for p in sorted((root / "migrations").glob("0003_*"))] == ["0003_generated.rollback.sql",
                                                                                "0003_generated.sql"]
        stopped = cli("db", "stop", "--format", "json", env={"SCHEMA_TOOLS_STATE_DIR": str(tmp_path / "none")})
        wrong = cli("status", "--format", "json", "--database", url.replace("json_db", "no_such_db"))
        outputs += [stopped.out, wrong.out, wrong.err]
        assert json.loads(stopped.out) == {"stopped": False}
        assert wrong.code == 2 and wrong.out == "" and wrong.err.count("\n") == 1  # errors stay one line on stderr
    finally:
        with cluster.admin() as admin:
            admin.execute("DROP DATABASE IF EXISTS json_db WITH (FORCE)")
            admin.execute("DROP ROLE IF EXISTS json_owner")
    forms = (SECRET, quote(SECRET, safe=""), quote(SECRET), cluster.password)
    assert [n for n, text in enumerate(outputs) if any(form in text for form in forms)] == []
