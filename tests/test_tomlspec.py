"""TOML inputs: every file read through one spec helper, errors at the key's own line, the
right hint for each kind of file, and the one edit (``passes``) that keeps comments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ralph.harness.stories import load_stories, set_passes
from schema_tools import ConfigError, Field, Kinds, load_settings
from schema_tools.datachecks.derive import from_checks_file
from schema_tools.catalog.model import Catalog, Column, Table
from schema_tools.fleet import read_fleet
from schema_tools.tomlspec import index_lines, parse_toml

TEXT = '''# a comment with [brackets] and key = value
title = """
[not.a.header]
fake = 1
"""
list = [
  "a",  # [x]
  "b",
]
[tool.schema_tools]
migrations = "db"
"quoted.key" = 1
[tool.schema_tools.lint]
disable = ["x"]

[[stories]]
id = "A"
[stories.expect.tables.users]
columns.id = "bigint"

[[stories]]
id = "B"
[stories.expect.tables."odd name"]
only_columns = 'yes'
'''


def test_lines_of_keys_tables_and_array_elements() -> None:
    lines = index_lines(TEXT)
    assert lines[("title",)] == 2 and lines[("list",)] == 6
    assert ("not", "a", "header") not in lines and ("fake",) not in lines
    assert lines[("tool", "schema_tools", "migrations")] == 11
    assert lines[("tool", "schema_tools", "quoted.key")] == 12
    assert lines[("tool", "schema_tools", "lint", "disable")] == 14
    assert lines[("stories", 0, "id")] == 17 and lines[("stories", 1, "id")] == 22
    assert lines[("stories", 0, "expect", "tables", "users", "columns", "id")] == 19
    assert lines[("stories", 1, "expect", "tables", "odd name", "only_columns")] == 24


def test_a_refusal_names_the_file_and_the_line_of_the_key(tmp_path: Path) -> None:
    doc = parse_toml(TEXT, tmp_path / "x.toml")
    with pytest.raises(ConfigError) as caught:
        doc.table(("stories", 1, "expect", "tables", "odd name"), {"only_columns": Field(Kinds.boolean)},
                  label="odd name")
    assert caught.value.one_line() == (f"{tmp_path / 'x.toml'}:24: odd name.only_columns must be true or false "
                                       "-- write only_columns = true")
    with pytest.raises(ConfigError, match=r"x\.toml:17: unknown key 'id' in story 1") as caught:
        doc.table(("stories", 0), {"title": Field(Kinds.string), "expect": Field(Kinds.anything)}, label="story 1")
    assert caught.value.hint == "known keys: title, expect"


def test_stories_errors_point_at_the_story_s_line(tmp_path: Path) -> None:
    path = tmp_path / "stories.toml"
    path.write_text('[[stories]]\nid = "S-1"\ntitle = "one"\n\n[[stories]]\nid = "S-2"\ntitle = "two"\n'
                    'priority = "high"\n')
    with pytest.raises(ConfigError, match=r"stories\.toml:8: story 2\.priority must be a whole number"):
        load_stories(path)
    path.write_text('[[stories]]\nid = "S-1"\ntitle = "one"\n[[stories]]\nid = "S-1"\ntitle = "again"\n')
    with pytest.raises(ConfigError, match=r"stories\.toml:5: story id S-1 appears twice"):
        load_stories(path)


@pytest.mark.parametrize("reader,what,hint", [
    (load_stories, "no such stories file", "--stories"),
    (lambda p: read_fleet(p), "no such fleet file", "--fleet"),
    (lambda p: from_checks_file(p, Catalog({})), "no such checks file", "--checks"),
])
def test_a_missing_file_gets_the_hint_of_its_own_option(tmp_path: Path, reader, what: str, hint: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        reader(tmp_path / "nope.toml")
    assert what in caught.value.message and hint in caught.value.hint and "--expect" not in caught.value.hint


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "stories.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_stories(fifo)  # opening a FIFO for reading would block: the test would hang


def test_checks_file_errors_at_the_entry_s_line(tmp_path: Path) -> None:
    path = tmp_path / "checks.toml"
    path.write_text('[[ranges]]\ncolumn = "t.a"\nmin = 0\n\n[[ranges]]\ncolumn = "t.nope"\nmax = 1\n')
    catalog = Catalog({"t": Table("public", "t", (Column("a", "integer"),))})
    with pytest.raises(ConfigError, match=r"checks\.toml:6: \[\[ranges\]\] #2: column 't\.nope' does not exist"):
        from_checks_file(path, catalog)
    path.write_text('[[ranges]]\ncolumn = "t.a"\nseverity = "warn"\n')
    with pytest.raises(ConfigError, match=r"checks\.toml:3: \[\[ranges\]\] #1\.severity = 'warn' is not one of"):
        from_checks_file(path, catalog)


def test_pyproject_errors_at_the_key_s_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.schema_tools]\nlock_retries = -2\n')
    with pytest.raises(ConfigError, match=r"pyproject\.toml:5: lock_retries = -2 must be a non-negative int"):
        load_settings(cwd=tmp_path, env={})


def test_setting_passes_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "stories.toml"
    text = ('# the stories\n[[stories]]\nid = "S-1"   # first\ntitle = "one"\n\n[stories.expect.tables.t]\n'
            'columns = ["a"]  # keep\n\n[[stories]]\nid = "S-2"\ntitle = "two"\npasses = false\n')
    path.write_text(text)
    set_passes(path, "S-2", True)
    set_passes(path, "S-1", True)
    assert path.read_text() == text.replace("passes = false", "passes = true").replace(
        'title = "one"\n', 'title = "one"\npasses = true\n')
    assert [s.passes for s in load_stories(path, runnable=False)] == [True, True]
