"""ralph log / ralph report: the seed log read exactly, any log read without a traceback, and an
HTML report that renders in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from conftest import FIXTURES, ROOT, Cli, scalar
from ralph.logformat import read_log
from ralph.review.report import render_html
from ralph.review.summary import Run, summarise, summarise_log

SEED = FIXTURES / "seed_progress.log"


def test_the_seed_log_summary_is_exactly_right() -> None:
    s = summarise(read_log(SEED), keep_runs=10)
    assert (s.lines, s.runs, s.runs_ended, s.iterations, s.unknown_lines, s.unreadable_lines) == (45, 6, 2, 11, 0, 0)
    runs = list(s.kept_runs)
    assert [r.never_ended for r in runs] == [True, True, False, False, True, True]
    assert [[it.outcome for it in r.iterations] for r in runs] == [
        [None], [None], ["success"] * 3, ["issues"] * 3, ["issues", None], ["issues"]]
    assert [round(it.duration.total_seconds(), 3) if it.duration else None for it in runs[2].iterations] == [
        4.040, 29.571, 4.407]
    assert runs[3].ended == "2026-01-24T19:54:16.272639"

    one, two = s.stories["SCHEMA-001"], s.stories["SCHEMA-002"]
    assert (one.attempts, one.successes, one.issues, one.no_outcome) == (11, 3, 5, 3)
    assert one.title == "Database schema migration - Core tables"
    assert (one.first_attempt, one.first_success) == ("2026-01-24T19:39:20.690325", "2026-01-24T19:46:18.730389")
    assert one.completed_at == "2026-01-24T20:19:46+05:30"
    assert one.time_to_completion is not None and round(one.time_to_completion.total_seconds(), 3) == 418.040
    assert one.reruns_after_success == 8 and len(one.bullets) == 6
    assert (two.attempts, two.completed_at, two.time_to_completion) == (0, "2026-01-24", None)
    assert two.bullets[0] == "Created migrations/0003_api_keys_usage.sql"

    assert s.anomaly_counts == {"rerun-after-success": 1, "failed-after-success": 1, "run-never-ended": 4,
                                "iteration-without-outcome": 3, "completed-without-iteration": 1,
                                "completed-after-failure": 1, "timezones": 1}
    by_kind = {a.kind: a for a in s.anomalies}
    assert by_kind["rerun-after-success"].message.startswith("SCHEMA-001 ran 8 more time(s)")
    assert by_kind["completed-without-iteration"].message.startswith("SCHEMA-002 is reported completed")
    assert [a.line for a in s.anomalies if a.kind == "run-never-ended"] == [3, 5, 23, 27]
    assert "if naive times are UTC" in by_kind["timezones"].message


def test_ralph_log_text_and_json(cli: Cli) -> None:
    text = cli("log", str(SEED), program="ralph")
    assert text.code == 0, text.err
    assert "  run 3: 2026-01-24T19:46:14.687089 -> 2026-01-24T19:46:58.721514, max 3 iteration(s)" in text.out
    assert "    iteration 2: SCHEMA-001 successful, 29.6 s" in text.out
    assert "  run 1: 2026-01-24T19:39:20.688322 -> never ended, max 3 iteration(s)" in text.out
    assert "attempts 11: 3 successful, 5 with issues, 3 without outcome" in text.out
    assert "run started and never ended: 4" in text.out
    data = json.loads(cli("log", str(SEED), "--json", program="ralph").out)
    assert [r["ended"] is None for r in data["runs"]] == [True, True, False, False, True, True]
    assert data["stories"][0]["attempts"] == 11 and data["runs_never_ended"] == 4


@pytest.mark.parametrize("name,content,unknown,unreadable", [
    ("empty", b"", 0, 0),
    ("binary", b"\x00\x01\x02\xff\xfe garbage\n\x89PNG\r\n\x1a\n", 0, 3),
    ("crlf", SEED.read_bytes().replace(b"\n", b"\r\n"), 0, 0),
    ("bom", b"\xef\xbb\xbf" + SEED.read_bytes(), 0, 0),
    ("truncated", SEED.read_bytes()[:SEED.read_bytes().index(b"Iteration 2 completed successfully") + 12], 1, 0),
    ("latin1", "[2026-01-24T19:39:20] === Ralph Loop Started (max 3 iterations) ===\ncaf\xe9\n".encode("latin-1"), 0, 1),
    ("noise", b"hello\n[not a time] Iteration 1: X - y\n[2026-01-24T10:00:00] Iteration 1 completed successfully\n", 3, 0),
])
def test_any_log_reads_without_a_traceback(cli: Cli, tmp_path: Path, name: str, content: bytes, unknown: int, unreadable: int) -> None:
    path = tmp_path / f"{name}.log"
    path.write_bytes(content)
    result = cli("log", str(path), program="ralph")
    assert result.code == 0 and "Traceback" not in result.err, result.err
    assert f"lines not understood: {unknown} unknown, {unreadable} unreadable" in result.out
    if name in ("crlf", "bom"):
        assert "6 run(s) (2 ended, 4 never ended), 11 iteration(s)" in result.out
    report = cli("report", str(path), "-o", str(tmp_path / f"{name}.html"), program="ralph")
    assert report.code == 0, report.err


def test_many_distinct_lines_overflow_the_body_cache_without_changing_the_answer(tmp_path: Path) -> None:
    """More distinct stamped bodies than the reader remembers, each seen twice (the second
    time remembered or after it was forgotten): every attempt and outcome still counted."""
    from ralph.logformat import _REMEMBERED

    stories = _REMEMBERED + 500
    lines = ["[2026-01-24T10:00:00] === Ralph Loop Started (max 2 iterations) ==="]
    for n in range(2 * stories):
        story = f"S-{n % stories}"
        lines += [f"[2026-01-24T10:00:{n % 60:02d}] Iteration 1: {story} - title of {story}",
                  f"[2026-01-24T10:00:{n % 60:02d}.5] Iteration 1 completed {'with issues' if n % 3 else 'successfully'}"]
    lines.append("[2026-01-24T10:01:00] === Ralph Loop Ended ===")
    path = tmp_path / "wide.log"
    path.write_text("\n".join(lines) + "\n")
    s = summarise_log(path)
    assert (s.runs, s.runs_ended, s.iterations, s.unknown_lines, len(s.stories)) == (1, 1, 2 * stories, 0, stories)
    assert all(story.attempts == 2 and story.title == f"title of {story.id}" for story in s.stories.values())
    assert sum(story.successes for story in s.stories.values()) == len(range(0, 2 * stories, 3))


@pytest.mark.parametrize("name", ["seed", "odd"])
def test_log_and_report_print_exactly_what_they_printed_before(capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """``ralph log``, ``ralph log --json`` and ``ralph report`` byte for byte, on the seed log and on
    one with every line kind and oddity the reader knows (tests/fixtures/odd_progress.log: a BOM,
    CRLF, notes, two runs at once, more runs open than it follows, noise, binary lines). After an
    intended change of the output: ``ralph log FILE > tests/fixtures/log_output/NAME.txt`` (and
    ``--json``, ``report -o``) from the repository root, and review the diff."""
    from ralph.cli import main

    monkeypatch.chdir(ROOT)
    log, expected = f"tests/fixtures/{name}_progress.log", FIXTURES / "log_output"
    for args, suffix in ((["log", log], "txt"), (["log", "--json", log], "json")):
        main(args)
        assert capsys.readouterr().out == (expected / f"{name}.{suffix}").read_bytes().decode("utf-8")
    main(["report", log, "-o", str(tmp_path / "report.html")])
    assert (tmp_path / "report.html").read_bytes() == (expected / f"{name}.html").read_bytes()


def test_missing_log_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("log", str(tmp_path / "nope.log"), program="ralph")
    assert result.code == 2 and result.err.count("\n") == 1 and "no such file" in result.err


HOSTILE = ('<script>alert("x")</script> & "quotes" \'single\'')


def test_html_escapes_what_comes_from_the_log(tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    log.write_text(
        "[2026-01-24T10:00:00] === Ralph Loop Started (max 1 iterations) ===\n"
        f"[2026-01-24T10:00:01] Iteration 1: S-1 - {HOSTILE}\n"
        "[2026-01-24T10:00:02] Iteration 1 completed with issues\n"
        f"    - finding {HOSTILE}\n"
        "[2026-01-24T10:00:03] === Ralph Loop Ended ===\n")
    s = summarise(read_log(log), str(log), keep_runs=5)
    html = render_html(s, list(s.kept_runs))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; &#x27;single&#x27;" in html
    assert html.count("<script>") == 1  # only our own measuring script


BROWSERS = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium on PATH; `make test` installs it first (as root) or names the command."""
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found is None:
        pytest.fail("a headless browser is needed for the report test: sudo apt-get install -y chromium")
    return found


def headless(chromium: str, profile: Path, *args: str, width: int = 1280) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},2200"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120)


def rendered(pattern: str, page: str) -> int:
    """The number ``pattern`` captures in the page the browser rendered (there must be one)."""
    found = re.search(pattern, page)
    assert found is not None, f"{pattern} not in the rendered page"
    return int(found.group(1))


def test_report_renders_in_headless_chromium(cli: Cli, chromium: str, db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("report", str(SEED), "-o", str(out), "--database", db_url, program="ralph")
    assert result.code == 0, result.err
    html = out.read_text()
    assert not re.search(r"""(src|href)=["']https?:""", html), "the report must not load anything from the network"
    dom = headless(chromium, tmp_path / "profile", "--virtual-time-budget=3000", "--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    page = dom.stdout
    assert 'data-rendered="yes"' in page
    width = rendered(r'id="timeline"[^>]*data-rendered-width="(\d+)"', page)
    bars = rendered(r'data-rendered-bars="(\d+)"', page)
    rows = rendered(r'id="stories"[^>]*data-rendered-rows="(\d+)"', page)
    assert width > 800 and bars == 11 + 4 and rows == 2  # 11 iterations + 4 never-ended markers; 2 stories
    assert page.count('class="er-table"') == 6 and "verify: all" in page
    shot = ROOT / "reports" / "ralph-report.png"
    shot.parent.mkdir(exist_ok=True)
    taken = headless(chromium, tmp_path / "profile2", f"--screenshot={shot}", out.as_uri())
    assert taken.returncode == 0 and shot.stat().st_size > 50_000, taken.stderr[-500:]


def test_strict_fails_ci_on_anomalies_only(cli: Cli, tmp_path: Path) -> None:
    assert cli("log", str(SEED), program="ralph").code == 0
    for extra in ((), ("--json",)):
        strict = cli("log", str(SEED), "--strict", *extra, program="ralph")
        assert strict.code == 1, strict.err  # the seed log never ended four runs
    clean = tmp_path / "clean.log"
    clean.write_text("[2026-01-01T10:00:00.000000+00:00] === Ralph Loop Started (max 5 iterations) ===\n"
                     "[2026-01-01T10:00:01.000000+00:00] Iteration 1: S-1 - Title\n"
                     "[2026-01-01T10:00:02.000000+00:00] Iteration 1 completed successfully\n"
                     "[2026-01-01T10:00:02.100000+00:00] S-1 completed\n"
                     "[2026-01-01T10:00:03.000000+00:00] === Ralph Loop Ended ===\n")
    assert cli("log", str(clean), "--strict", program="ralph").code == 0


def test_report_attaches_a_database_only_when_asked(cli: Cli, db_url: str, tmp_path: Path) -> None:
    """The embedded server of the tests is running: an old log must still not get today's database."""
    out = tmp_path / "plain.html"
    assert cli("report", str(SEED), "-o", str(out), program="ralph", env={"DATABASE_URL": db_url}).code == 0
    html = out.read_text()
    assert "No database attached" in html and 'class="er-table"' not in html and "verify:" not in html
    asked = tmp_path / "asked.html"
    assert cli("report", str(SEED), "-o", str(asked), "--database", db_url, program="ralph").code == 0
    label = re.search(r"Database (\w+) \(postgresql://[^)]*\), read (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", asked.read_text())
    assert label and label.group(1) == db_url.split("?")[0].rsplit("/", 1)[1], asked.read_text()[:2000]


def test_two_runs_interleaved_in_one_log_are_told_apart(tmp_path: Path) -> None:
    """Two ralph runs (on two databases) appended to one log at the same time."""
    lines = [
        "=== Ralph Loop Started (max 5 iterations) ===",       # run 1
        "Iteration 1: S-1 - One",
        "Iteration 1 completed successfully",
        "S-1 completed",
        "=== Ralph Loop Started (max 3 iterations) ===",       # run 2 starts while run 1 goes on
        "Iteration 2: S-2 - Two",                               # run 1's second
        "Iteration 1: S-2 - Two",                               # run 2's first
        "Iteration 2 completed with issues",                    # run 1's
        "    - verify: table two does not exist",
        "Iteration 1 completed successfully",                   # run 2's
        "S-2 completed",
        "=== Ralph Loop Ended ===",                             # run 2 wrote last
        "Iteration 3: S-3 - Three",                             # run 1 again
        "Iteration 3 completed successfully",
        "=== Ralph Loop Ended (stopped: done) ===",
    ]
    log = tmp_path / "progress.log"
    log.write_text("".join(f"[2026-01-01T10:00:{i:02d}.000000+00:00] {line}\n" if not line.startswith("    ") else
                           f"{line}\n" for i, line in enumerate(lines)))
    runs: list[Run] = []
    summary = summarise(read_log(log), str(log), on_run=runs.append)
    assert [(r.index, r.max_iterations, [(i.number, i.story, i.outcome) for i in r.iterations], bool(r.ended))
            for r in runs] == [(1, 5, [(1, "S-1", "success"), (2, "S-2", "issues"), (3, "S-3", "success")], True),
                               (2, 3, [(1, "S-2", "success")], True)]
    assert runs[0].iterations[1].findings == ["verify: table two does not exist"]
    assert runs[1].iterations[0].findings == []
    s2 = summary.stories["S-2"]
    assert (s2.attempts, s2.successes, s2.issues) == (2, 1, 1)
    assert summary.anomaly_counts == {"overlapping-runs": 1}, summary.anomalies
    assert summary.unknown_lines == 0


def test_report_at_print_width_and_at_1280_shows_everything_as_text(cli: Cli, chromium: str, db_url: str,
                                                                     tmp_path: Path) -> None:
    """A4 (its printable 718 px with the print rules, and 794 px) and 1280 px: nothing overflows; findings and end reasons are
    text on the page (not tooltips); every ER arrow ends on the row of the column it references."""
    log = tmp_path / "progress.log"
    long_finding = "verify: nothing makes (user_id, tenant_id, service) unique on sessions " + "x" * 150
    log.write_text(SEED.read_text() + "".join(f"[2026-01-25T10:00:0{i}.000000+00:00] {line}\n" for i, line in enumerate([
        "=== Ralph Loop Started (max 3 iterations) ===", "Iteration 1: SCHEMA-002 - API keys and usage events",
        "Iteration 1 completed with issues"])) + f"    - {long_finding}\n" +
        "[2026-01-25T10:00:05.000000+00:00] === Ralph Loop Ended (stopped: SCHEMA-002 failed the same way twice) ===\n")
    out = tmp_path / "report.html"
    assert cli("report", str(log), "-o", str(out), "--database", db_url, program="ralph").code == 0
    with psycopg.connect(db_url) as conn:
        fks = scalar(conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace "
                          "AND conrelid::regclass::text NOT LIKE '\\_%%'")
    for width, layout in ((718, "#print"), (794, ""), (1280, "")):  # 718 px: A4's printable width, print rules
        dom = headless(chromium, tmp_path / f"profile{width}", "--virtual-time-budget=3000", "--dump-dom",
                       out.as_uri() + layout, width=width)
        page = dom.stdout
        assert ('<html lang="en" class="print">' in page) == bool(layout)
        assert 'data-rendered="yes"' in page and 'data-overflow="no"' in page, (width, re.findall(r'data-\w+="[^"]*"', page))
        assert f'data-er-arrows="{fks} of {fks}"' in page, re.findall(r'data-er-arrows="[^"]*"', page)
        visible = re.sub(r'title="[^"]*"', "", page)  # what is left once tooltips are gone
        assert long_finding in visible and "stopped: SCHEMA-002 failed the same way twice" in visible
        assert re.search(r'class="er-flag">[^<]*\bU\b', page) and re.search(r'class="er-flag">[^<]*\bI\b', page)
