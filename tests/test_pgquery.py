"""PostgreSQL's parser called through ctypes answers exactly as pglast's own functions do: the
same JSON trees, the same statement cuts (in characters, stripped) and the same refusals, on a
varied corpus; where the library does not answer its probes as expected, pglast's documented
functions answer instead, with the same results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pglast import parser as pglast_parser

from schema_tools.sql import pgquery
from shapes import write_history

FIXTURES = Path(__file__).parent / "fixtures"

TEXTS = [
    "SELECT 1", "", "   \n", "-- only a comment\n", "SELECT 1; SELECT (", "SELEC 1",
    "CREATE TABLE a (id int);\n  -- note\nSELECT 'é€';  INSERT INTO x VALUES ('ü');\n",
    "SELECT 'é' FROM", "/* é */ SELECT 'ü'\n;\n\n  UPDATE t SET v = 'ß' ;  ",
    "DO $$ BEGIN PERFORM 1; END $$;", "CREATE INDEX CONCURRENTLY i ON t (a) WHERE a > 0;",
]
PLPGSQL = ["CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $b$ BEGIN PERFORM 'é'; END $b$",
           "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $b$ BEGIN PERFORM 1 END $b$"]


def _answer(function: object, text: str) -> object:
    try:
        return function(text)  # type: ignore[operator]
    except pgquery.ParseError as exc:
        return ("refused", *exc.args)


@pytest.mark.parametrize("text", TEXTS)
def test_the_library_parses_and_cuts_as_pglast_does(text: str) -> None:
    assert pgquery._library() is not None  # this platform has the library: the ctypes path is taken
    bound, own = pgquery._bound(pgquery._library()), pgquery._pglast(pglast_parser)  # type: ignore[arg-type]
    assert _answer(bound.parse_json, text) == _answer(own.parse_json, text)
    assert _answer(bound.split, text) == _answer(own.split, text)


@pytest.mark.parametrize("text", PLPGSQL)
def test_the_library_reads_plpgsql_as_pglast_does(text: str) -> None:
    bound, own = pgquery._bound(pgquery._library()), pgquery._pglast(pglast_parser)  # type: ignore[arg-type]
    assert _answer(bound.plpgsql_json, text) == _answer(own.plpgsql_json, text)


def _corpus(tmp: Path) -> list[str]:
    """Every SQL file of the fixtures and of a generated 120-migration history, each file whole and
    each of its statements alone, plus odd texts (unicode, refusals, comments, bodies)."""
    write_history(tmp, 120, seed=11)
    files = sorted(FIXTURES.rglob("*.sql")) + sorted(tmp.glob("*.sql"))
    texts = [path.read_text() for path in files] + TEXTS + PLPGSQL
    pieces = []
    for text in texts:
        try:
            pieces += [text[part] for part in pglast_parser.split(text, only_slices=True)]
        except pglast_parser.ParseError:
            pieces += [chunk for chunk in text.split(";") if chunk.strip()]  # refused pieces too
    return texts + pieces


def test_both_paths_answer_alike_on_a_varied_corpus(tmp_path: Path) -> None:
    library = pgquery._library()
    assert library is not None  # this platform has the library: the ctypes path is the one taken
    bound, own = pgquery._bound(library), pgquery._pglast(pglast_parser)
    chosen = pgquery._parser()
    assert chosen is not None and chosen.parse_json.__qualname__.startswith("_bound")
    corpus = _corpus(tmp_path)
    assert len(corpus) > 700 and sum("é" in t or "€" in t for t in corpus) >= 3
    refused = 0
    for text in corpus:
        for function in ("parse_json", "split", "plpgsql_json"):
            ours, theirs = _answer(getattr(bound, function), text), _answer(getattr(own, function), text)
            assert ours == theirs, (function, text)
            refused += isinstance(ours, tuple)
    assert refused >= 5  # refusals were compared too, not only trees


def test_a_library_that_answers_its_probes_wrongly_is_not_used() -> None:
    library = pgquery._library()
    assert library is not None
    bound = pgquery._bound(library)
    assert pgquery.behaves(bound) and pgquery.behaves(pgquery._pglast(pglast_parser))
    shifted = bound._replace(split=lambda text: [slice(p.start + 1, p.stop) for p in bound.split(text)])
    assert not pgquery.behaves(shifted)
    assert not pgquery.behaves(bound._replace(parse_json=lambda text: b'{"version": 1, "stmts": []}'))
    assert not pgquery.behaves(bound._replace(parse_json=lambda text: b"\x00garbage"))

    def crashes(text: str) -> bytes:
        raise OSError("not the function it was said to be")

    assert not pgquery.behaves(bound._replace(plpgsql_json=crashes))


@pytest.mark.parametrize("why", ["probes", "version"])
def test_the_fallback_to_pglast_s_functions_gives_the_same_report(why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the library is not trusted (its probes fail, or pglast is a version it was not
    written for), pglast's documented functions parse, and lint's report is the same."""
    from schema_tools.linter import lint_migrations
    from schema_tools.migration_files.read import read_folder
    from schema_tools.sql import grammar

    folder = FIXTURES / "history"
    pgquery._parser.cache_clear()
    try:
        before = lint_migrations(read_folder(folder))
        assert pgquery._parser().parse_json.__qualname__.startswith("_bound")  # type: ignore[union-attr]
        if why == "probes":
            monkeypatch.setattr(pgquery, "behaves", lambda parser: False)
        else:
            monkeypatch.setattr(grammar, "pglast_version", lambda: "v9.0")
        pgquery._parser.cache_clear()
        assert pgquery._parser().parse_json.__qualname__.startswith("_pglast")  # type: ignore[union-attr]
        after = lint_migrations(read_folder(folder))
    finally:
        monkeypatch.undo()
        pgquery._parser.cache_clear()
    assert after == before and before.findings


def test_a_refusal_names_the_character_where_the_parser_stopped() -> None:
    with pytest.raises(pgquery.ParseError) as refused:
        pgquery.parse_json("SELECT 'é' FROM WHERE")
    assert refused.value.args == ('syntax error at or near "WHERE"', 16)


def test_parsing_imports_none_of_pglast_s_python_modules() -> None:
    import subprocess

    code = ("import sys; from schema_tools.sql.script import read_script; "
            "s = read_script('CREATE TABLE t (id int); SELECT (', trees=True); "
            "assert s.problem is not None and s.problem.line == 1; print(sorted(m for m in sys.modules if 'pglast' in m))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_texts_parsed_ahead_answer_as_parsed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lint's files parsed ahead by a child process give the same report, refusals included, and
    a text asked out of turn is parsed here."""
    from schema_tools.linter import lint_migrations
    from schema_tools.migration_files.read import read_folder
    from schema_tools.sql import ahead

    folder = tmp_path / "m"
    folder.mkdir()
    bodies = [f"CREATE TABLE t{i} (id bigint PRIMARY KEY, note varchar(9), at timestamp);\n"
              f"CREATE INDEX t{i}_at ON t{i} (at);\nCOMMENT ON TABLE t{i} IS 'é {i}';\n" for i in range(12)]
    bodies[5] = "ALTER TABLE t1 ADD COLUMN x int NOT NULL;\nSELEC 1;\n"  # refused by the parser
    for i, text in enumerate(bodies):
        (folder / f"{i:04d}_m.sql").write_text(text)
    monkeypatch.setattr(ahead, "_may_fork", lambda: False)
    here = lint_migrations(read_folder(folder))
    answered: list[bool] = []
    take = ahead._Reader.take

    def spy(self: ahead._Reader, text: str) -> bytes | None:
        try:
            got = take(self, text)
        except pgquery.ParseError:
            answered.append(True)
            raise
        answered.append(got is not None)
        return got

    monkeypatch.setattr(ahead, "_may_fork", lambda: True)
    monkeypatch.setattr(ahead._Reader, "take", spy)
    migrations = read_folder(folder)
    assert migrations[3].statements  # read before: its text is not asked in turn, and the rest still are
    assert lint_migrations(migrations) == here
    assert answered.count(True) == 11 and answered.count(False) >= 1
    assert any(f.rule == "syntax-error" for f in here.findings)


def test_a_text_s_syntax_problem_alone_is_the_one_its_statements_give(tmp_path: Path) -> None:
    """``syntax_problem`` (what lint asks of a rollback file) finds what ``read_script`` finds,
    COPY rows and pg_dump's \\restrict lines set aside as it sets them aside."""
    from schema_tools.sql.script import read_script, syntax_problem

    odd = ["COPY t (a) FROM stdin;\nx;y\n\\.\nSELEC 1;\n", "\\restrict abc\nSELECT 1;\n\nDROP TABEL t;\n\\unrestrict abc\n",
           "COPY t FROM stdin;\n(\n\\.\n", "SELECT 1;\r\nSELECT (\r\n", "SELECT 'é';\n  SELEC 'ü'"]
    corpus = _corpus(tmp_path) + odd
    problems = 0
    for text in corpus:
        alone = syntax_problem(text)
        assert alone == read_script(text, trees=False).problem == read_script(text).problem, text
        problems += alone is not None
    assert problems >= 5 and all(syntax_problem(text) is not None for text in odd if "SELEC " in text or "TABEL" in text)
