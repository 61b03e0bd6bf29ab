"""TOML inputs: every file read through one spec helper, errors at the key's own line, the
right hint for each kind of file, and the one edit (``passes``) that keeps comments. The reader
reads what tomllib reads, in time linear in the file's size, and refuses bad TOML on one line
that names the file and the line."""

from __future__ import annotations

import io
import math
import os
import tomllib
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ralph.harness.stories import load_stories, set_passes
from schema_tools import ConfigError, cli, load_settings
from schema_tools.catalog.model import Catalog, Column, Table
from schema_tools.datachecks.derive import from_checks_file
from schema_tools.fleet import read_fleet
from schema_tools.harness import Field, Kinds
from schema_tools.tomlread import Keys, TomlError, read
from schema_tools.tomlspec import parse_toml

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


def test_lines_of_keys_tables_and_array_elements(tmp_path: Path) -> None:
    line = parse_toml(TEXT, tmp_path / "x.toml").line
    assert line(("title",)) == 2 and line(("list",)) == 6 and line(("list", 1)) == 8
    assert line(("not", "a", "header")) == 1 and line(("fake",)) == 1  # inside a string: no such keys
    assert line(("tool",)) == 10 and line(("tool", "schema_tools", "migrations")) == 11
    assert line(("tool", "schema_tools", "quoted.key")) == 12
    assert line(("tool", "schema_tools", "lint", "disable")) == 14
    assert line(("stories",)) == 16 and line(("stories", 1)) == 21
    assert line(("stories", 0, "id")) == 17 and line(("stories", 1, "id")) == 22
    assert line(("stories", 0, "expect", "tables", "users", "columns", "id")) == 19
    assert line(("stories", 1, "expect", "tables", "odd name", "only_columns")) == 24
    assert line(("stories", 1, "expect", "tables", "odd name", "nope")) == 23  # the longest known prefix


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
def test_a_missing_file_gets_the_hint_of_its_own_option(tmp_path: Path, reader: Callable[[Path], object], what: str,
                                                       hint: str) -> None:
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


# --- the reader: what tomllib reads, in linear time, with one-line errors ------------------------

MB = 1 << 20  # each input below is about 1 MB. A reader quadratic in its shape would take hours on
# it (a 40 KB dotted key took 36 s before), so the suite would never end; nothing here is timed.
PART = "abcdefg"
Big = tuple[str, Keys, Any, int]  # a text, a key path in it, the value and the line found there


def _dotted(size: int) -> tuple[str, tuple[str, ...]]:
    """A dotted key of about ``size`` characters, and its parts."""
    parts = (PART,) * (size // (len(PART) + 1))
    return ".".join(parts), parts


def _many(make: Callable[[int], str], size: int = MB) -> tuple[str, int]:
    """``make(0) + make(1) + ...`` (all of one length) up to ``size`` characters, and how many."""
    count = size // len(make(0))
    return "".join(make(i) for i in range(count)), count


def _dotted_key() -> Big:
    key, parts = _dotted(MB)
    return f"{key} = 1\n", parts, 1, 1


def _table_header() -> Big:
    key, parts = _dotted(MB)
    return f"[{key}]\nx = 1\n", (*parts, "x"), 1, 2


def _keys_in_a_deep_table() -> Big:
    key, parts = _dotted(MB // 2)
    body, count = _many(lambda i: f"k{i:06d} = 1\n", MB // 2)
    return f"[{key}]\n{body}", (*parts, f"k{count - 1:06d}"), 1, count + 1


def _string() -> Big:
    return f'a = "{"x" * MB}"\n', ("a",), "x" * MB, 1


def _escapes() -> Big:
    body, count = _many(lambda i: r'\t\u00e9\"')
    return f'a = "{body}"\n', ("a",), '\té"' * count, 1


def _multi_line_string() -> Big:
    body, count = _many(lambda i: 'x"" \\\n  y\n')  # quotes, and a backslash that ends a line
    return f'a = """\n{body}"""\n', ("a",), 'x"" y\n' * count, 1


def _multi_line_literal() -> Big:
    body, count = _many(lambda i: "x\\'' y\n")
    return f"a = '''\n{body}'''\n", ("a",), "x\\'' y\n" * count, 1


def _array() -> Big:
    body, count = _many(lambda i: '"x", ')
    return f"a = [{body}]\n", ("a", count - 1), "x", 1


def _nested_arrays() -> Big:
    body, count = _many(lambda i: "[[1]], ")
    return f"a = [{body}]\n", ("a", count - 1, 0, 0), 1, 1


def _array_over_lines() -> Big:
    body, count = _many(lambda i: "  1,  # one\n")
    return f"a = [\n{body}]\n", ("a", count - 1), 1, count + 1


def _inline_table() -> Big:
    body, count = _many(lambda i: f"k{i:06d}.v = 1, ")  # dotted keys inside the braces
    return f"a = {{{body}z = 0}}\n", ("a", f"k{count - 1:06d}", "v"), 1, 1


def _keys() -> Big:
    body, count = _many(lambda i: f"k{i:06d} = 1\n")
    return body, (f"k{count - 1:06d}",), 1, count


def _tables() -> Big:
    body, count = _many(lambda i: f"[t.k{i:06d}]\nv = 1\n")
    return body, ("t", f"k{count - 1:06d}", "v"), 1, 2 * count


def _arrays_of_tables() -> Big:
    body, count = _many(lambda i: "[[a]]\nk = 1\n")
    return body, ("a", count - 1, "k"), 1, 2 * count


def _comments() -> Big:
    return f"#{'x' * MB}\na = 1 #{'y' * MB}\n", ("a",), 1, 2


def _blank_lines() -> Big:
    return "\n" * MB + "a = 1\n", ("a",), 1, MB + 1


SHAPES = [_dotted_key, _table_header, _keys_in_a_deep_table, _string, _escapes, _multi_line_string,
          _multi_line_literal, _array, _nested_arrays, _array_over_lines, _inline_table, _keys, _tables,
          _arrays_of_tables, _comments, _blank_lines]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.__name__.strip("_").replace("_", " "))
def test_a_1_mb_file_is_read_whole_whatever_its_shape(shape: Callable[[], Big], tmp_path: Path) -> None:
    text, keys, value, line = shape()
    doc = parse_toml(text, tmp_path / "big.toml")
    assert doc.get(keys) == value and doc.line(keys) == line


def test_a_1_mb_dotted_key_in_another_tool_s_section_of_pyproject(tmp_path: Path) -> None:
    key, _ = _dotted(MB)
    (tmp_path / "pyproject.toml").write_text(f"[tool.other]\n{key} = 1\n\n[tool.schema_tools]\nlock_retries = -2\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml:5: lock_retries = -2 must be a non-negative int"):
        load_settings(cwd=tmp_path, env={})


BAD = [  # a text, the line of the error, and what the message says
    ("a = 1\n[b\n", 2, "expected ']' after the table name"),
    ("[[b]\n", 1, "expected ']]' after the array of tables name"),
    ('a = 1\nb = "x\n', 2, "the string is not closed on its line"),
    ('a = """\nno end\n', 3, 'the """ string is not closed'),
    ("a = 1\na = 2\n", 2, "the key 'a' is already defined"),
    ("[a]\nb = 1\n[a]\n", 3, "'a' is already defined"),
    ("a.b = 1\n[a]\n", 2, "'a' is already defined"),
    ("[[a]]\n[a]\n", 2, "'a' is already defined"),
    ("a = [1]\n[[a]]\n", 2, "'a' is already defined, not as an array of tables"),
    ("a = {}\n[a.b]\n", 2, "'a' is a value, not a table"),
    ("a = 1\na.b = 2\n", 2, "the dotted key cannot add to 'a': it is a value"),
    ("[a.b]\nc = 1\n[a]\nb.d = 1\n", 4, "the dotted key cannot add to 'b': it is a table defined elsewhere"),
    ("a = {b = 1, b = 2}\n", 1, "the key 'b' is already defined"),
    ("a = {b = {}, b.c = 1}\n", 1, "the dotted key cannot add to 'b'"),
    ("a = 1\nb =\n", 2, "expected a value, found '\\n'"),
    ("a = [1,\n", 2, "expected a value, found the end of the file"),
    ("a = [1 2]\n", 1, "expected ',' or ']' in the array, found '2'"),
    ("a = {b = 1,}\n", 1, "expected a key, found '}'"),
    ("a = {b = 1\n", 1, "expected ',' or '}' in the inline table, found '\\n'"),
    ('a = "\\q"\n', 1, "unknown escape \\q"),
    ('a = "\\uD800"\n', 1, "\\uD800 is not a Unicode scalar value"),
    ('a = "\\u12"\n', 1, "\\u takes 4 hexadecimal digits"),
    ('a = "x\ty\x01"\n', 1, "the string holds '\\x01'"),
    ("a = '''x\x7f'''\n", 1, "the string holds '\\x7f'"),
    ("a = 1979-02-30\n", 1, "not a valid date or time"),
    ("a = " + "1" * 5000 + "\n", 1, "the number is too long"),  # tomllib raised a bare ValueError here
    ("a = 1 # \x00\n", 1, "a comment may not hold '\\x00'"),
    ("\ufeffa = 1\n", 1, "expected a key, a [table] or a comment, found '\\ufeff'"),
    ("a = " + "[" * 1000 + "]" * 1000 + "\n", 1, "nested too deeply to read"),
    ("a = " + "{b = " * 1000 + "1" + "}" * 1000 + "\n", 1, "nested too deeply to read"),
    ("a = 1\r\nb = 2\rc = 3\n", 2, "expected the end of the line, found '\\r'"),
    ("= 1\n", 1, "expected a key, a [table] or a comment, found '='"),
    ("a b = 1\n", 1, "expected '=' after the key"),
    ("a = 1 b = 2\n", 1, "expected the end of the line, found 'b'"),
]


@pytest.mark.parametrize("text,line,what", BAD)
def test_bad_toml_is_refused_on_one_line_with_the_file_and_line(text: str, line: int, what: str,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    with pytest.raises(ConfigError) as caught:
        parse_toml(text, path)  # (a file is read with universal newlines: there a lone \r ends a line)
    message = caught.value.one_line()
    assert message.startswith(f"{path}:{line}: not valid TOML: {what}") and "\n" not in message, message


def test_a_file_that_is_not_utf_8_is_refused_at_the_line_of_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "stories.toml"
    path.write_bytes(b'[[stories]]\r\nid = "S-1"\rtitle = "caf\xe9"\n')  # Latin-1, and old Mac newlines
    with pytest.raises(ConfigError) as caught:
        load_stories(path)
    assert caught.value.one_line() == f"{path}:3: not valid TOML: byte 0xe9 is not UTF-8 -- save the file as UTF-8"


def test_bad_toml_in_pyproject_is_exit_2_and_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.schema_tools]\nmigrations = "db"\nlint = {disable = [}\n')
    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = cli.main(["lint"])
    assert code == 2 and err.getvalue().count("\n") == 1, err.getvalue()
    assert "pyproject.toml:3: not valid TOML: expected a value, found '}' (column 20)" in err.getvalue()


KEY = st.sampled_from(["a", "b", "1", "-_", '"a"', "'b'", '"a.b"', '""', '"\\u0041"', "a.b", "a . c", "b.c.d", "a.",
                       '"\\x"', "ü", '"\\uD800"'])
VALUE = st.sampled_from([
    "1", "+1", "-0", "00", "1_000", "1__0", "0x1F", "0o17", "0b101", "+0x1", "1.5", "-1.5e+3", "1.", "1e_5", "inf",
    "-nan", "infx", "true", "truex", '"s"', '"a\\tb"', '"bad\\q"', "'lit'", '"""\nml"""', '"""a""""', '"""a""""""',
    "'''a''''", '"""x\\   \n  y"""', '"""x\\ y"""', '"open', "1979-05-27", "1979-05-27T07:32:00Z",
    "1979-05-27 07:32:00.999999-07:00", "1979-02-30", "07:32:00", "24:00:00", "[]", "[1,2,]", "[1 , [2], 'x']",
    "[\n1, # c\n2\n]", "[,]", "{}", "{a = 1}", "{a = 1,}", "{a.b = 1, a.c = 2}", "{a = {}, a.b = 1}",
    "{a.b = 1, a = 2}", "{a = 1, a = 2}", "[{a=1},{b=2}]", '"\x00"', "'\x7f'", '"\t"'])
LINE = st.one_of(st.builds("{} = {}".format, KEY, VALUE), st.builds("[{}]".format, KEY),
                 st.builds("[[{}]]".format, KEY), st.sampled_from(["", "# c", "[a]]", "a = 1 # c", "a =", "\r"]))


def _comparable(value: Any) -> Any:
    """``value`` with NaN made equal to itself."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return "NaN" if isinstance(value, float) and math.isnan(value) else (type(value), value)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(lines=st.lists(LINE, max_size=10), newline=st.sampled_from(["\n", "\r\n"]))
@example(lines=["[a.b]", "[a]", "b.c = 1"], newline="\n")
@example(lines=["[[a]]", "[a.b]", "[[a]]", "[a.b]"], newline="\n")
@example(lines=["a.b = 1", "a.c = 2", "[a.d]"], newline="\n")
def test_the_reader_reads_what_tomllib_reads(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    try:
        expected = _comparable(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        expected = "refused"
    try:
        found = _comparable(read(text)[0])
    except TomlError:
        found = "refused"
    assert found == expected
