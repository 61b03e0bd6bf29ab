"""``ralph``: the Ralph loop harness and progress-log tools."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from schema_tools import OneLineParser, run_console

PROG = "ralph"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="The Ralph loop over schema stories, and its progress.log.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point."""
    return run_console(argv, build_parser(), PROG)


if __name__ == "__main__":
    sys.exit(main())
