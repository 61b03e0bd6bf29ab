"""Fuzzing every input we parse: a result or our one-line error (exit 2), never a traceback,
never a partial write. A fixed, derandomised example budget keeps CI reproducible; inputs
that once failed are kept as @example regressions."""

from __future__ import annotations

import io
import json
import string
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ralph.harness.stories import load_stories
from ralph.logformat import read_events
from ralph.review.logview import run_json, summary_json
from ralph.review.summary import Summary, summarise, summarise_log
from schema_tools import cli
from schema_tools.config import load_settings
from schema_tools.errors import SchemaToolsError
from schema_tools.expect.parse import expectations_in
from schema_tools.migration_files.yoyo import read_migration
from schema_tools.sql.script import read_script

CliMain = Callable[[str, list[str]], tuple[int, str, str]]
"""What the ``cli_main`` fixture returns: (program, argv) -> (exit code, stdout, stderr)."""

BUDGET = settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TOMLISH = st.text(alphabet=string.printable + "ü名\x00\x7f", max_size=300) | st.builds(
    lambda parts: "\n".join(parts), st.lists(st.sampled_from([
        "[tables.t]", "[tables.\"x y\"]", "columns = ['a']", "columns.a = 'int not null'", "columns.b = {type = 1}",
        "unique = [['a']]", "unique = 'a'", "indexed = [1]", "foreign_keys = [{columns = ['a'], references = 't(id)'}]",
        "foreign_keys = [{columns = 'a', references = 'x'}]", "allowed_values.a = ['x']", "only_columns = 'no'",
        "[[stories]]", "id = 'S-1'", "id = '../x'", "title = 'T'", "priority = 'high'", "depends_on = ['S-9']",
        "migrations = ['../../etc/passwd']", "passes = 1", "[stories.expect.tables.t]", "criteria = [1, 2]",
        "[tool.schema_tools]", "migrations = 1", "lock_wait = -1", "lock_timeout = 'soon'", "strict_order = 'y'",
        "[tool.schema_tools.verify]", "expect = ['../../etc/passwd']", "disable = 'x'", "[tool.schema_tools.lint]",
        "warn = [1]", "[tool.schema_tools.integrity]", "checks = '/etc/passwd'", "samples = 'many'",
        "[tool.schema_tools.distribution]", "column = 5", "bogus = true", "= broken", "[unclosed",
    ]), max_size=12))


def accept(action: Callable[[], object]) -> None:
    try:
        action()
    except SchemaToolsError as exc:
        assert exc.exit_code in (1, 2)
        assert "\n" not in exc.one_line()


@BUDGET
@given(text=TOMLISH)
@example(text="[tables.t]\ncolumns = []\n")
def test_expectation_files(text: str, tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    accept(lambda: expectations_in(path))


@BUDGET
@given(text=TOMLISH)
def test_stories_files(text: str, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    accept(lambda: load_stories(path))


@BUDGET
@given(text=TOMLISH)
def test_pyproject_settings(text: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8", errors="surrogateescape")
    accept(lambda: load_settings(cwd=tmp_path, env={}))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
STORY = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=12), "title": st.text(min_size=1, max_size=30)},
                              optional={"acceptanceCriteria": st.lists(st.text(max_size=60), max_size=4),
                                        "priority": JSON, "passes": JSON, "notes": JSON, "description": JSON})


@BUDGET
@given(document=st.one_of(JSON, st.fixed_dictionaries({"userStories": st.lists(STORY, min_size=1, max_size=3)})))
@example(document={"userStories": [{"id": "A", "title": "t\x7f", "acceptanceCriteria": ["t: a (x/y)"]}]})
def test_prd_import_writes_a_valid_file_or_nothing(document: object, tmp_path: Path, cli_main: CliMain) -> None:
    prd = tmp_path / "prd.json"
    prd.write_text(json.dumps(document))
    out = tmp_path / "out" / "stories.toml"
    code, _, err = cli_main("ralph", ["import", str(prd), "-o", str(out)])
    assert code in (0, 2), err
    if code == 0:
        load_stories(out)  # what was written reads back
    else:
        assert err.count("\n") == 1 and not out.exists() or _valid(out)


def _valid(path: Path) -> bool:
    try:
        load_stories(path)
        return True
    except SchemaToolsError:
        return False


@BUDGET
@given(text=st.text(max_size=400) | st.builds(lambda parts: "\n".join(parts), st.lists(st.sampled_from([
    "-- depends: 0001_x", "-- depends:", "-- transactional: maybe", "-- transactional: false", "-- lock_timeout: 1 week",
    "-- statement_timeout: 10s", "BEGIN;", "CREATE TABLE t (id int);", "$$ unterminated", "'unterminated", "/* open",
    "DO $x$ BEGIN END $x$;", "SELECT ';';", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
]), max_size=8)))
def test_migration_files_and_headers(text: str, tmp_path: Path) -> None:
    path = tmp_path / "0001_x.sql"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    accept(lambda: read_migration(path))
    statements = read_script(text).statements
    assert all(s.line >= 1 for s in statements)


@BUDGET
@given(data=st.binary(max_size=600) | st.builds(lambda parts: "\n".join(parts).encode(), st.lists(st.sampled_from([
    "[2026-01-24T19:39:20.688322] === Ralph Loop Started (max 3 iterations) ===", "[2026-01-24] === Ralph Loop Ended ===",
    "[2026-01-24T19:39:20+05:30] Iteration 1: S-1 - T", "[x] Iteration 1 completed successfully",
    "[2026-13-45T99:00:00] Iteration 2 completed with issues", "    - finding", "- bullet", "[2026-01-24] S-1 completed",
    "\ufeff# title", "\x00\x01", "Iteration 1: no stamp", "[2026-01-24T10:00:00.123] Iteration 9 completed with issues",
]), max_size=15)))
def test_progress_logs(data: bytes, tmp_path: Path) -> None:
    """Any log summarises, and the fast reader (``summarise_log``) summarises it as the plain one does."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline="")
    summary = summarise(read_events(text), "log", keep_runs=5)
    assert summary.lines >= 0 and summary.runs >= summary.runs_ended
    (tmp_path / "log").write_bytes(data)
    fast = summarise_log(tmp_path / "log", keep_runs=5)
    fast.path = "log"
    assert _summary_data(fast) == _summary_data(summary)


def _summary_data(summary: Summary) -> str:
    """All a summary says, its keys in order."""
    return json.dumps([summary_json(summary), [run_json(run) for run in summary.kept_runs], summary.first_stamp,
                       summary.last_stamp])


TOKENS = ["migrate", "rollback", "status", "validate", "plan", "lint", "verify", "drift", "integrity", "repair",
          "check-reversible", "--json", "--all", "--to", "x", "--format", "json", "bogus", "--lock-wait", "-1", "abc",
          "--expect", "/nonexistent.toml", "--fleet", "/nonexistent.toml", "--jobs", "0", "--migrations", "/nowhere",
          "--database", "postgresql://u:pw@127.0.0.1:1/x", "not a url", "--samples", "--checks", "--preflight", "-h"]


@pytest.fixture
def cli_main() -> CliMain:
    def call(program: str, argv: list[str]) -> tuple[int, str, str]:
        from ralph import cli as ralph_cli

        main = cli.main if program == "schema-tools" else ralph_cli.main
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: usage errors and --help
                code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()
    return call


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6))
@example(argv=["lint", "--format", "bogus"])
def test_cli_arguments(argv: list[str], cli_main: CliMain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject here: nothing of the repository is touched
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/x")  # never the embedded server
    code, out, err = cli_main("schema-tools", argv)
    assert code in (0, 1, 2), (argv, err)
    assert "Traceback" not in out + err and "internal error" not in err
    if code == 2 and "-h" not in argv:
        assert err.count("\n") == 1, err
    assert ":pw@" not in out + err
