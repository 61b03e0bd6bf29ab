"""Shared console plumbing for ``schema-tools`` and ``ralph``: one-line errors, exit codes."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import SchemaToolsError

if TYPE_CHECKING:  # the settings' module (TOML, ...) costs start-up to commands that read none (ralph log)
    from .config import Settings

SettingsFromArgs = Callable[[argparse.Namespace], "Settings"]


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake on one line, exit code 2. ``add_version``: a
    ``--version`` option printing ``PROG X.Y.Z`` (the installed package's version)."""

    def __init__(self, *args: Any, add_version: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if add_version:
            self.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")

    def error(self, message: str) -> NoReturn:
        # argparse quotes what was typed ("invalid choice: 'postgresql://u:pw@...'"): never a password
        from .server.urls import redact  # (imported on an error only, as in run_console)

        self.exit(2, f"{self.prog}: error: {redact(message)} (see '{self.prog} --help')\n")


class CommandParser(OneLineParser):
    """A subcommand's parser (``parser_class`` of ``add_subparsers``): every command takes --debug.
    ``more_help`` is appended to the description only when help is shown (it may import what the
    command alone needs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
        self.more_help: Callable[[], str] | None = None

    def format_help(self) -> str:
        if self.more_help is not None:
            self.description = f"{self.description or ''}{self.more_help()}"
            self.more_help = None
        return super().format_help()


def _known_url(args: argparse.Namespace, settings: SettingsFromArgs | None) -> str | None:
    try:
        return settings(args).database_url if settings else getattr(args, "database", None)
    except Exception:  # the settings are what failed: the URL given, if any, is still scrubbed
        return getattr(args, "database", None)


class TerminalStatus:
    """A status line on stderr, rewritten in place while long work runs, cleared when it ends;
    nothing at all when stderr is not a terminal (CI logs, pipes). A context manager; call it
    with each step's text."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.live = sys.stderr.isatty()
        self.shown = False

    def __call__(self, text: str) -> None:
        if self.live:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            sys.stderr.write(f"\r\x1b[K{f'{self.label}: {text}'[:width]}")
            sys.stderr.flush()
            self.shown = True

    def __enter__(self) -> TerminalStatus:
        return self

    def __exit__(self, *_: object) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command parser that ``args`` went through last."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if isinstance(name, str) and name in action.choices:
                return _chosen(action.choices[name], args)
    return parser


def run_console(argv: Sequence[str] | None, parser: argparse.ArgumentParser, prog: str,
        settings: SettingsFromArgs | None = None) -> int:
    """Parse, dispatch, and turn our errors into one line on stderr and an exit code."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser: its usage and its --help, not the top level's
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SchemaToolsError as exc:
        if getattr(args, "debug", False):
            raise
        from .server.urls import redact, scrub  # the error paths alone show URLs

        url = _known_url(args, settings)
        print(f"{prog}: error: {redact(scrub(exc.one_line(), url))}", file=sys.stderr)
        for line in exc.context:  # a statement and its caret, under the one line
            print(f"  {redact(scrub(line, url))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine said no (a full disk, a file that cannot be written): not a bug of ours
        if getattr(args, "debug", False):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc} -- check the path, its permissions and the free space",
              file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so on one line, without secrets
        if getattr(args, "debug", False):
            raise
        from .server.urls import redact, scrub

        detail = redact(scrub(" ".join(str(exc).split()), _known_url(args, settings)))
        if _server_stopped(exc):
            print(f"{prog}: error: the database stopped the command: {detail} -- a timeout (statement_timeout, "
                  "lock_timeout: PGOPTIONS?), a lost connection or a shutdown; run it again when the server allows",
                  file=sys.stderr)
            return 2
        print(f"{prog}: internal error: {type(exc).__name__}: {detail} "
              "(run again with --debug for the traceback, and please report it)", file=sys.stderr)
        return 3


def _server_stopped(exc: BaseException) -> bool:
    """The server ended or refused to go on (a timeout, a lost connection, a shutdown): the
    environment, not a bug of ours. Read without importing psycopg (not every command loads it)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (the lookup costs every
    other command ~25 ms of start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} {_installed_version()}")
        parser.exit()


def _installed_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("schema-tools")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"
