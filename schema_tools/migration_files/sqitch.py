"""sqitch's layout: ``sqitch.plan`` (changes in the order they deploy, each with its
``[dependencies]``; tags), and ``deploy/``, ``revert/``, ``verify/`` scripts named after the
changes.

The plan's order is the order; a dependency must be a change earlier in the plan (``!name``
conflicts are not dependencies). A change reworked later in the plan keeps its earlier scripts
as ``<name>@<tag>.sql``, the tag being the first after the earlier change. A deploy script runs as
written: its own ``BEGIN``/``COMMIT`` (sqitch's convention) are honoured, statement by statement;
one without them runs in a transaction with its record. ``verify/`` scripts are the changes'
checks. Only the ``pg`` engine's scripts are PostgreSQL's: another engine's changes only sqitch
runs. Placeholders: psql variables, ``:"name"`` and ``:'name'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MigrationError
from .model import Migration, Migrations
from .source import Source, migration
from .text import read_text

CHANGE = re.compile(r"^([+-]?)([^\s\[@#:]+)\s*(?:\[([^\]]*)\])?\s*(.*)$")
PLAN = "sqitch.plan"


@dataclass
class Change:
    name: str
    line: int
    requires: list[str] = field(default_factory=list)
    tag: str = ""  # set for a change reworked later: the first tag after it


def _config(folder: Path) -> dict[str, str]:
    """``[core]`` keys of sqitch.conf (git-config style): engine, top_dir, plan_file..."""
    conf = folder / "sqitch.conf"
    found: dict[str, str] = {}
    section = ""
    if not conf.is_file():
        return found
    for line in read_text(conf).splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]").strip()
        elif "=" in stripped and not stripped.startswith(("#", ";")):
            key, _, value = stripped.partition("=")
            if section == "core":
                found[key.strip()] = value.strip().strip('"')
            if section in ('engine "pg"', "engine \"pg\""):
                found.setdefault(f"pg.{key.strip()}", value.strip().strip('"'))
    return found


def read_plan(path: Path) -> list[Change]:
    """The changes of a plan in order, each reworked one tagged."""
    changes: list[Change] = []
    untagged: list[Change] = []  # changes since the last tag
    for number, line in enumerate(read_text(path).splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "%")):
            continue
        if stripped.startswith("@"):
            tag = stripped[1:].split()[0]
            for change in untagged:
                change.tag = tag
            untagged = []
            continue
        match = CHANGE.match(stripped)
        if not match:
            raise MigrationError(f"{path}:{number}: not a change or a tag", hint="see sqitch's plan syntax")
        op, name, requires = match.group(1), match.group(2), match.group(3)
        if op == "-":
            raise MigrationError(f"{path}:{number}: {name} is marked reverted ('-'), which sqitch no longer writes",
                                 hint="remove the line, or run this plan with sqitch")
        change = Change(name, number, [r for r in (requires or "").split() if not r.startswith("!")])
        changes.append(change)
        untagged.append(change)
    return changes


def read_layout(source: Source) -> Migrations:
    plan = source.folder / PLAN
    if not plan.is_file():
        raise MigrationError(f"{source.folder}: no {PLAN}", hint="point --migrations at the folder of sqitch.plan")
    config = _config(source.folder)
    top = source.folder / config.get("pg.top_dir", config.get("top_dir", "."))
    engine = config.get("engine", "pg")
    changes = read_plan(plan)
    last = {c.name: c for c in changes}  # a name's last appearance: its scripts are the plain ones
    ids: dict[str, str] = {}  # name -> id of its latest appearance so far
    items: list[Migration] = []
    for change in changes:
        reworked = last[change.name] is not change
        if reworked and not change.tag:
            raise MigrationError(f"{plan}:{change.line}: {change.name} is reworked later without a tag between",
                                 hint="sqitch needs a tag before a rework ('sqitch tag')")
        stem = f"{change.name}@{change.tag}" if reworked else change.name
        mid = stem
        depends = []
        for need in change.requires:
            if ":" in need:
                continue  # another project's change: not in this folder
            base = need.split("@", 1)[0]
            if base not in ids:
                raise MigrationError(f"{plan}:{change.line}: {change.name} requires {need}, which is not earlier in "
                                     "the plan", migration_id=mid, hint="move the change after what it requires")
            depends.append(ids[base])
        deploy, revert, verify = (top / d / f"{stem}.sql" for d in ("deploy", "revert", "verify"))
        if engine != "pg":
            items.append(Migration(mid, deploy, "", None, only_tool=f"sqitch (the {engine} engine)"))
        else:
            if not deploy.is_file():
                raise MigrationError(f"{deploy}: the deploy script of {change.name} ({plan.name}:{change.line}) is "
                                     "missing", migration_id=mid, hint="restore it, or remove the change from the plan")
            made = migration(source, mid, deploy, read_text(deploy), read_text(revert) if revert.is_file() else None,
                             syntax="psql", rollback_file=revert, transactional="auto",
                             check_file=verify if verify.is_file() else None,
                             check_text=read_text(verify) if verify.is_file() else None)
            if depends:
                made.directives["depends"] = " ".join(depends)
            items.append(made)
        ids[change.name] = mid
    return Migrations(source.folder, tuple(items), "sqitch")
