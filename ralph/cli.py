"""``ralph``: the Ralph loop harness and progress-log tools."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from schema_tools import (OneLineParser, SchemaToolsError, connect_url, existing_database_url, load_settings,
                          mask_url, read_catalog, run_console, verify_database)

from .logview import JsonRunWriter, RunPrinter, tail_text
from .progress import read_log
from .report import render_html
from .summary import Summary, summarise

PROG = "ralph"
REPORT_RUNS = 500


class LogMissing(SchemaToolsError):
    """The progress log to read does not exist."""


def _log_path(value: str | None) -> Path:
    path = Path(value or "progress.log")
    if not path.is_file():
        raise LogMissing(f"{path}: no such file", hint="give the path of a progress.log: ralph log PATH")
    return path


def cmd_log(args: argparse.Namespace) -> int:
    path = _log_path(args.file)
    if args.json:
        writer = JsonRunWriter(sys.stdout)
        writer.finish(summarise(read_log(path), str(path), on_run=writer))
        return 0
    printer = RunPrinter(sys.stdout)
    summary = summarise(read_log(path), str(path), on_run=printer)
    printer.flush()
    print(tail_text(summary))
    return 0


def _schema_section(args: argparse.Namespace) -> tuple[object, object, str]:
    settings = load_settings(database=args.database)
    url = existing_database_url(settings)
    if url is None:
        return None, None, "No database given (--database or DATABASE_URL) and the embedded one is not running: no ER diagram."
    try:
        with connect_url(url, application_name="ralph report") as conn:
            catalog = read_catalog(conn)
        report = verify_database(settings.with_database(url), args.expect)
    except SchemaToolsError as exc:
        return None, None, f"Database not reachable or not verifiable: {exc.one_line()}"
    return catalog, report, f"Database {mask_url(url)}: {len(catalog.tables)} tables."


def cmd_report(args: argparse.Namespace) -> int:
    path = _log_path(args.file)
    summary: Summary = summarise(read_log(path), str(path), keep_runs=REPORT_RUNS)
    catalog, verify, note = _schema_section(args)
    html = render_html(summary, list(summary.kept_runs), catalog, verify, note)  # type: ignore[arg-type]
    out = Path(args.output)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(out)
    print(f"wrote {out} ({summary.runs} runs, {summary.iterations} iterations, "
          f"{sum(summary.anomaly_counts.values())} anomalies)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="The Ralph loop over schema stories, and its progress.log.",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="exit codes: 0 done, 1 stories not passing, 2 bad input or environment.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True

    p = sub.add_parser("log", help="summarise a progress.log", description=(
        "Per run: start, end (or 'never ended'), maximum, and each iteration's story, outcome and "
        "duration. Per story: attempts, successes, with issues, without outcome, first attempt, "
        "completion and time to it. Then the anomalies: a story run again after it succeeded, a "
        "story that succeeded and later failed, runs that never ended, iterations without outcome, "
        "a story reported completed with no iteration logged, time zones that cannot be reconciled. "
        "Any log reads: unknown lines are counted, never fatal."))
    p.add_argument("file", nargs="?", metavar="FILE", help="the log (default: ./progress.log)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    p.set_defaults(handler=cmd_log)

    p = sub.add_parser("report", help="write a self-contained HTML report of a progress.log", description=(
        "One HTML file, no network needed: a timeline of runs and iterations coloured by outcome, "
        "the per-story table, the anomalies, and -- when a database is reachable (--database, "
        "$DATABASE_URL, or the embedded one if it is running) -- an ER diagram and the verify results."))
    p.add_argument("file", nargs="?", metavar="FILE", help="the log (default: ./progress.log)")
    p.add_argument("-o", "--output", default="report.html", metavar="HTML", help="where to write (default: report.html)")
    p.add_argument("--database", metavar="URL", help="database for the ER diagram and verify")
    p.add_argument("--expect", action="append", type=Path, metavar="FILE",
                   help="expectations for verify (default: [tool.schema_tools.verify] expect)")
    p.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    p.set_defaults(handler=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_console(argv, build_parser(), PROG)


if __name__ == "__main__":
    sys.exit(main())
