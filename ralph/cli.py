"""``ralph``: the Ralph loop harness (``run``, ``import``) and the review of its progress.log
(``log``, ``report``). Arguments and files in, the work done by ``harness`` or ``review``, exit
codes out; each command imports only its own side."""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from schema_tools import SchemaToolsError
from schema_tools.harness import CommandParser, OneLineParser, run_console

PROG = "ralph"


class LogMissing(SchemaToolsError):
    """A file the command needs does not exist (or would be overwritten)."""


def _log_path(value: str | None) -> Path:
    path = Path(value or "progress.log")
    if not path.is_file():
        raise LogMissing(f"{path}: no such file", hint="give the path of a progress.log: ralph log PATH")
    return path


def cmd_log(args: argparse.Namespace) -> int:
    from .review.logview import print_log

    summary = print_log(_log_path(args.file), sys.stdout, as_json=args.json)
    return 1 if args.strict and summary.anomaly_counts else 0


def _output_path(value: str) -> Path:
    """Where to write a file: refused (before any work) when it cannot be written there."""
    out = Path(value)
    if not value.strip() or out.is_dir():
        raise LogMissing(f"-o {value!r}: not a file name", hint="give the file to write, e.g. -o report.html")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise LogMissing(f"-o {value}: the folder {folder} does not exist", hint="create it first, or write elsewhere")
    if not os.access(folder, os.W_OK):
        raise LogMissing(f"-o {value}: the folder {folder} is not writable", hint="write the report elsewhere")
    try:
        mode = os.lstat(out).st_mode
    except FileNotFoundError:
        return out
    if not stat.S_ISREG(mode):
        raise LogMissing(f"-o {value}: exists and is not a regular file (a link, a FIFO, a device...)",
                         hint="give the path of a plain file, or of one that does not exist yet")
    return out


def _write_replacing(out: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``out``, then rename it over ``out`` -- only when
    ``out`` is still a regular file or absent (checked again just before)."""
    import tempfile  # here: ralph log, which never writes, does not pay for its import

    descriptor, temporary = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", prefix=f".{out.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        mode = stat.S_IMODE(os.lstat(out).st_mode) if out.exists() else 0o666 & ~umask
        os.chmod(temporary, mode)  # the mode a plain write would leave, not mkstemp's 0600
        _output_path(str(out))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cmd_report(args: argparse.Namespace) -> int:
    from .review.report import render_report

    path = _log_path(args.file)
    _output_path(args.output)
    html, summary = render_report(path, args.database, args.expect)
    out = _output_path(args.output)
    _write_replacing(out, html)
    print(f"wrote {out} ({summary.runs} runs, {summary.iterations} iterations, "
          f"{sum(summary.anomaly_counts.values())} anomalies)")
    return 0


def _positive(kind: type) -> Callable[[str], object]:
    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be a number greater than 0")
        return value
    return parse


def _timeout(text: str) -> str:
    from schema_tools import Settings

    if not Settings(Path(), Path(), max_statement_timeout=text).timeout_within_cap("statement_timeout", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a timeout: write a whole number with a unit "
                                         "(ms, s, min, h), greater than 0, e.g. 1min")
    return text


def cmd_run(args: argparse.Namespace) -> int:
    from schema_tools import load_settings

    from .harness.agent import parse_command
    from .harness.loop import Loop, RunOptions

    settings = load_settings(database=args.database, migrations=args.migrations, lock_wait=args.lock_wait)
    root = settings.project_root
    options = RunOptions(
        settings=settings,
        stories=Path(args.stories) if args.stories else root / "ralph" / "stories.toml",
        log=Path(args.log) if args.log else root / "progress.log",
        state=root / ".ralph",
        max_iterations=args.max_iterations,
        story=args.story,
        agent=parse_command(args.agent) if args.agent else None,
        agent_timeout=args.agent_timeout,
        max_identical_failures=args.max_identical_failures,
        sandbox=args.sandbox,
        run_lock_wait=args.lock_wait or 0.0,
        generate=args.generate,
        max_statement_timeout=args.max_statement_timeout,
    )
    if options.log.exists() and not options.log.is_file():
        raise LogMissing(f"{options.log}: not a regular file", hint="give --log the path of a plain file "
                         "(a FIFO would block the run, a device would lose the log)")
    if not options.stories.is_file():
        raise LogMissing(f"{options.stories}: no stories file", hint="pass --stories FILE (see ralph import)")
    return Loop(options).run()


def cmd_import(args: argparse.Namespace) -> int:
    from .harness.prd import prd_to_toml
    from .harness.stories import load_stories

    text, checked, unverified = prd_to_toml(Path(args.prd))
    out = Path(args.output)
    if (out.exists() or out.is_symlink()) and not args.force:
        raise LogMissing(f"{out} exists", hint="pass --force to overwrite it, or -o another path")
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_replacing(_output_path(args.output), text)
    stories = load_stories(out, runnable=False)
    print(f"wrote {out}: {len(stories)} stories; {checked} criteria became machine checks, "
          f"{unverified} stay unverified (reported, never counted as passed)")
    for story in stories:
        if not story.expectations and not story.migrations:
            print(f"{story.id}: nothing the harness can check yet; add expectations or migrations before ralph run")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="The Ralph loop over schema stories, and its progress.log.",
                           formatter_class=argparse.RawDescriptionHelpFormatter, add_version=True,
                           epilog="exit codes: 0 done, 1 stories not passing, 2 bad input or environment.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True

    p = sub.add_parser("run", help="run the loop: stories -> agent -> shadow database -> verify -> promote",
                       formatter_class=argparse.RawDescriptionHelpFormatter, description=(
        "Pick the highest-priority story that does not pass and whose dependencies pass; let the agent "
        "(optional) write or fix its migrations; apply every migration to a fresh shadow database and "
        "verify the story's expectations, the invariants and lint there; only then apply the pending "
        "migrations to the target and mark the story passing. The database decides: 'passes' in the "
        "stories file is a cache that is re-verified. Logs to progress.log in the original format, one "
        "JSON record per iteration in .ralph/."), epilog=(
        "agents: the prompt arrives on stdin and in $RALPH_PROMPT_FILE; $DATABASE_URL points at a scratch\n"
        "database (never the target). Examples:\n"
        "  ralph run --agent 'claude -p --dangerously-skip-permissions'\n"
        "  ralph run --agent 'codex exec --full-auto -'\n"
        "  ralph run --agent 'amp -x'\n"
        "  ralph run --agent \"sh -c 'aider --yes-always --message-file \\\"\\$RALPH_PROMPT_FILE\\\"'\"\n"
        "no shell runs the command: $VARIABLES stay literal unless you run a shell (sh -c '...'), as for aider.\n"
        "stop rules: without an agent, the same failure twice ends the run; with one, N identical\n"
        "failures in a row (--max-identical-failures). exit codes: 0 every story passes, 1 some do\n"
        "not, 2 bad input, 130 interrupted."))
    p.add_argument("--max-iterations", type=_positive(int), default=10, metavar="N", help="at most N iterations (default 10)")
    p.add_argument("--story", metavar="ID", help="work on this story only")
    p.add_argument("--agent", metavar="CMD", help="agent command (split like a shell would; no shell runs it)")
    p.add_argument("--generate", action="store_true", help=(
        "draft each open story's migration with schema-tools generate (from its expectations, proven on a "
        "scratch database) before any agent: a complete draft is attempted as is and the story can pass with "
        "no agent; otherwise the draft and what it could not express start the agent's prompt"))
    p.add_argument("--agent-timeout", type=_positive(float), default=1800.0, metavar="SECONDS",
                   help="per-iteration time limit for the agent (default 1800)")
    p.add_argument("--max-statement-timeout", type=_timeout, default="1min", metavar="DURATION", help=(
        "cap on the statement_timeout of every migration the run applies, in the shadow and on the target "
        "(default 1min; lock_timeout is capped at the project's): a migration's header may lower them, never "
        "raise or disable them"))
    p.add_argument("--max-identical-failures", type=_positive(int), default=3, metavar="N",
                   help="with an agent, stop after N identical failures in a row (default 3)")
    p.add_argument("--sandbox", choices=("auto", "bubblewrap", "none"), default="auto", help=(
        "where the agent runs: bubblewrap (the file system read-only but for its workspace, the harness's "
        "credentials hidden), none (as you: changes outside the workspace are detected, not prevented), or auto "
        "(bubblewrap when it works here; default)"))
    p.add_argument("--database", metavar="URL", help="target database (default: $DATABASE_URL, else the embedded one)")
    p.add_argument("--migrations", metavar="DIR", help="migrations folder (default: from pyproject)")
    p.add_argument("--lock-wait", type=float, metavar="SECONDS", help=(
        "how long to wait for another ralph run on the target (default: not at all) and for a migration "
        "runner's lock when promoting (default: lock_wait from pyproject, else 60)"))
    p.add_argument("--stories", metavar="FILE", help="stories file (default: ralph/stories.toml)")
    p.add_argument("--log", metavar="FILE", help="progress log (default: progress.log)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("import", help="convert a snarktank-style prd.json into a stories file", description=(
        "userStories (id, title, description, acceptanceCriteria, priority, passes, notes) become "
        "[[stories]]. Criteria in a checkable shape become expectations; the rest stay as criteria "
        "and are reported as unverified. passes always starts false."))
    p.add_argument("prd", metavar="PRD_JSON")
    p.add_argument("-o", "--output", default="ralph/stories.toml", metavar="FILE", help="where to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("log", help="summarise a progress.log", description=(
        "Per run: start, end (or 'never ended'), maximum, and each iteration's story, outcome and "
        "duration. Per story: attempts, successes, with issues, without outcome, first attempt, "
        "completion and time to it. Then the anomalies: a story run again after it succeeded, a "
        "story that succeeded and later failed, runs that never ended, iterations without outcome, "
        "a story reported completed with no iteration logged, time zones that cannot be reconciled. "
        "Any log reads: unknown lines are counted, never fatal."))
    p.add_argument("file", nargs="?", metavar="FILE", help="the log (default: ./progress.log)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when the log shows any anomaly (for CI)")
    p.set_defaults(handler=cmd_log)

    p = sub.add_parser("report", help="write a self-contained HTML report of a progress.log", description=(
        "One HTML file, no network needed: a timeline of runs and iterations coloured by outcome, "
        "the per-story table, the anomalies, and -- only with --database -- that database's ER diagram "
        "and verify results, labelled with its name and the time they were read."))
    p.add_argument("file", nargs="?", metavar="FILE", help="the log (default: ./progress.log)")
    p.add_argument("-o", "--output", default="report.html", metavar="HTML", help="where to write (default: report.html)")
    p.add_argument("--database", metavar="URL", help="attach this database's ER diagram and verify results")
    p.add_argument("--expect", action="append", type=Path, metavar="FILE",
                   help="expectations for verify (default: [tool.schema_tools.verify] expect)")
    p.set_defaults(handler=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_console(argv, build_parser(), PROG)


if __name__ == "__main__":
    sys.exit(main())
