"""A draft written in the layout of the folder it goes to: the next versions by that tool's
rules, and its files as that tool names and marks them (yoyo's headers turned into the tool's own
markers: NO TRANSACTION, ``transaction:false``, ``metadata.toml``, ``.autocommit``; ``-- lock_timeout``
into a ``SET lock_timeout``, which every tool runs)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..migration_files.model import Migrations
from .files import GeneratedFile

DIRECTIVE = re.compile(r"^--\s*(depends|transactional|lock_timeout)\s*:\s*(.*?)\s*$")


def _leading(text: str) -> int:
    match = re.match(r"[0-9][0-9-]*", text)
    return int(match.group(0).replace("-", "")) if match else 0


def new_ids(layout: str, existing: Migrations, count: int, name: str) -> list[str]:
    """``count`` ids after the folder's last, as the layout's reader will read them back."""
    ids: list[str] = []
    versions = [_leading(m.id.lstrip("VU")) for m in existing if not m.repeatable]
    top = max(versions, default=0)
    if layout == "flyway":
        top = max((int(re.split(r"[._]", m.id[1:])[0]) for m in existing if m.id[:1] == "V"), default=0)
    now = int(datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S"))
    for n in range(count):
        suffix = "" if n == 0 else "_online" if n == 1 else f"_{n}"
        if layout == "flyway":
            ids.append(f"V{top + 1 + n}__{name}{suffix}")
        elif layout in ("diesel", "prisma"):  # timestamps: now, or past the newest
            stamp = _after(max(top, now - 1) if top >= 10**13 else now - 1, n)
            shown = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}-{stamp[8:]}" if layout == "diesel" and any(
                "-" in m.id.split("_")[0] for m in existing) else stamp
            ids.append(f"{shown}_{name}{suffix}")
        elif layout == "sqitch":
            taken = {m.id for m in existing}
            base = f"{name}{suffix}"
            ids.append(base if base not in taken else f"{base}_{len(taken)}")
        else:
            width = max((len(m.id.split("_")[0]) for m in existing), default=1)
            ids.append(f"{top + 1 + n:0{width}d}_{name}{suffix}")
    return ids


def _after(stamp: int, n: int) -> str:
    """The timestamp one second (and ``n`` more) after ``stamp`` (YYYYMMDDHHMMSS)."""
    when = datetime.strptime(str(stamp), "%Y%m%d%H%M%S") + timedelta(seconds=1 + n)
    return when.strftime("%Y%m%d%H%M%S")


def _plain(sql: str) -> tuple[str, bool]:
    """The SQL without yoyo's directives (a lock_timeout becomes a SET), and whether it was
    transactional."""
    lines, transactional, head = [], True, []
    for line in sql.splitlines():
        match = DIRECTIVE.match(line)
        if match is None:
            lines.append(line)
        elif match.group(1) == "transactional":
            transactional = match.group(2).lower() != "false"
        elif match.group(1) == "lock_timeout":
            head.append(f"SET lock_timeout = '{match.group(2)}';")
    return "\n".join(lines[:1] + head + lines[1:]) + "\n", transactional


def layout_texts(layout: str, folder: Path, files: list[GeneratedFile]) -> list[tuple[Path, str]]:
    """Each file to create (path, text) for the draft in ``layout``. sqitch's plan is the one
    existing file written: its text is the lines to append."""
    out: list[tuple[Path, str]] = []
    dialects = layout == "popx" and any(".postgres." in p.name for p in folder.glob("*.sql"))
    for f in files:
        up, transactional = _plain(f.sql)
        down, _ = _plain(f.rollback)
        if layout == "flyway":
            out += [(folder / f"{f.id}.sql", up), (folder / f"U{f.id[1:]}.sql", down)]
        elif layout == "golang-migrate":
            out += [(folder / f"{f.id}.up.sql", up), (folder / f"{f.id}.down.sql", down)]
        elif layout == "popx":
            name = f.id + (".postgres" if dialects else "")
            out += [(folder / f"{name}{'' if transactional else '.autocommit'}.up.sql", up),
                    (folder / f"{name}.down.sql", down)]
        elif layout == "goose":
            mark = "" if transactional else "-- +goose NO TRANSACTION\n"
            out.append((folder / f"{f.id}.sql", f"{mark}-- +goose Up\n{up}\n-- +goose Down\n{down}"))
        elif layout == "dbmate":
            option = "" if transactional else " transaction:false"
            out.append((folder / f"{f.id}.sql", f"-- migrate:up{option}\n{up}\n-- migrate:down{option}\n{down}"))
        elif layout == "diesel":
            out += [(folder / f.id / "up.sql", up), (folder / f.id / "down.sql", down)]
            out += [] if transactional else [(folder / f.id / "metadata.toml", "run_in_transaction = false\n")]
        elif layout == "prisma":
            out.append((folder / f.id / "migration.sql", up))
        elif layout == "sqitch":
            out += [(folder / "deploy" / f"{f.id}.sql", up), (folder / "revert" / f"{f.id}.sql", down)]
        else:
            raise ValueError(f"no writer for layout {layout}")
    if layout == "sqitch":
        when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines = []
        for i, f in enumerate(files):
            needs = f" [{files[i - 1].id}]" if i else ""
            lines.append(f"{f.id}{needs} {when} schema-tools <schema-tools@localhost> # generated by schema-tools\n")
        out.append((folder / "sqitch.plan", "".join(lines)))
    return out
