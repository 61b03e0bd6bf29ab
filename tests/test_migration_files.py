"""Migration files are read once per command: the folder is listed once, the migrations are an
ordered, immutable set handed down to every verb, and each statement is parsed once."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MIGRATIONS, ROOT
from schema_tools.errors import MigrationError
from schema_tools.migration_files.read import read_folder

COUNT_LISTINGS = """
import os, sys
folder = os.path.realpath(sys.argv[1])
listed = []
def hook(event, args):
    if event in ("os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        if os.path.realpath(os.fsdecode(args[0])) == folder:
            listed.append(event)
sys.addaudithook(hook)
from schema_tools import cli
code = cli.main(sys.argv[2:])
print(f"listed {len(listed)} time(s), exit {code}", file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["status"], ["migrate"], ["migrate", "--preflight"], ["lint"], ["plan"],
                                     ["plan", "--json"], ["validate"]])
def test_a_command_lists_the_migrations_folder_once(command: list[str], empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_more.sql").write_text("-- depends: 0003_api_keys_usage\n-- lock_timeout: 2s\n"
                                          "ALTER TABLE users ADD COLUMN nickname text;\n")
    (folder / "0004_more.rollback.sql").write_text("ALTER TABLE users DROP COLUMN nickname;\n")
    args = [*command, "--migrations", str(folder)] + ([] if command == ["lint"] else ["--database", empty_db_url])
    done = subprocess.run([sys.executable, "-c", COUNT_LISTINGS, str(folder), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.stderr.strip().endswith(("exit 0", "exit 1")), done.stderr
    assert "listed 1 time(s)" in done.stderr, done.stderr


def test_the_listing_counter_sees_a_second_listing(tmp_path: Path) -> None:
    script = COUNT_LISTINGS.replace("code = cli.main(sys.argv[2:])", "os.listdir(folder); code = 0; list(os.scandir(folder))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert "listed 2 time(s)" in done.stderr, done.stderr


def test_migrations_are_an_ordered_immutable_set(tmp_path: Path) -> None:
    migrations = read_folder(MIGRATIONS)
    assert migrations.ids == ("0001_users", "0002_core_tables", "0003_api_keys_usage")
    assert migrations.by_id["0002_core_tables"] is migrations[1]
    assert [m.id for m in migrations[1:]] == ["0002_core_tables", "0003_api_keys_usage"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        migrations.items = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        migrations[0].text = "DROP TABLE users"  # type: ignore[misc]
    first = migrations[0]
    assert first.statements is first.statements and first.statements[0].tree is first.statements[0].tree  # read once


def test_a_python_file_is_refused_or_listed_as_unread(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MIGRATIONS, folder)
    (folder / "0004_code.py").write_text("print('yoyo would run me')\n")
    (folder / "_helpers.py").write_text("")
    with pytest.raises(MigrationError, match=r"0004_code\.py: Python migrations are not supported"):
        read_folder(folder)
    read = read_folder(folder, allow_python=True)
    assert [p.name for p in read.unread] == ["0004_code.py"] and len(read) == 3
