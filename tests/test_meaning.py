"""Expressions compared by meaning: the same text (but for PostgreSQL's outer parentheses) is
decided without sqlglot, whose import alone costs a verify run a fifth of its time; the rest
by sqlglot's rewrites."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from schema_tools.sql.meaning import is_null, same


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("(v > 0)", "v > 0", True), ("((a > 1) AND (b < 2))", "(a > 1) AND (b < 2)", True),
    ("(a > 1) AND (b < 2)", "a > 1) AND (b < 2", False),  # the outer pair is not one pair
    ("note = '(x)'", "(note = '(x)')", True), ("note = 'a  b'", "note = 'a b'", False),
    (None, None, True), (None, "0", False), ("now()", "CURRENT_TIMESTAMP", True), ("a > 1", "1 < a", True),
    ("status IN ('a', 'b')", "(status = ANY (ARRAY['a'::text, 'b'::text]))", True),
])
def test_same_by_text_or_by_meaning(a: str | None, b: str | None, expected: bool) -> None:
    assert same(a, b) is expected


def test_null_defaults() -> None:
    assert is_null("NULL") and is_null(" (NULL) ") and is_null("NULL::character varying") and not is_null("'NULL'")


def test_the_same_text_never_loads_sqlglot() -> None:
    script = ("import json, sys\nfrom schema_tools.sql.meaning import same, is_null\n"
              "print(json.dumps([same('(v > 0)', 'v > 0'), same(None, None), is_null('NULL'), 'sqlglot' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [True, True, True, False]
