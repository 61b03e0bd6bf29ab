"""Property: for random expectation sets within what generate covers -- new tables, then changes to
those tables once they exist -- generate -> apply -> verify passes, the files lint clean, and rolling
the new migrations back returns the catalog to exactly what it was before."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Cluster, settings_for
from schema_tools import commands
from schema_tools.catalog.inventory import inventory

TYPES = {"bigint": "7", "integer": "0", "text": "'x'", "timestamptz": "now()", "boolean": "false",
         "numeric(10,2)": "1.50", "jsonb": "'{}'::jsonb", "date": "CURRENT_DATE"}
ACTIONS = ["no action", "cascade", "restrict"]
COMMENTS = st.sampled_from([None, "a note", "it's quoted", 'say "hi"; -- not SQL', "\u00e9t\u00e9"])


def _coin(draw: st.DrawFn) -> bool:
    """A drawn boolean (``xs and draw(st.booleans())`` makes mypy expect a list from draw)."""
    return draw(st.booleans())


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def columns(draw: st.DrawFn, prefix: str, count: int) -> list[tuple[str, str, bool, str | None]]:
    """(name, type, not null, default) per column."""
    found = []
    for i in range(count):
        type_ = draw(st.sampled_from(sorted(TYPES)))
        default = TYPES[type_] if draw(st.booleans()) else None
        found.append((f"{prefix}{i}", type_, draw(st.booleans()), default))
    return found


def _column_toml(name: str, type_: str, not_null: bool, default: str | None, comment: str | None = None) -> str:
    fields = [f'type = "{type_}"', f"not_null = {str(not_null).lower()}"] + ([f'default = "{default}"'] if default else [])
    fields += [f"comment = {_string(comment)}"] if comment else []
    return f"columns.{name} = {{{', '.join(fields)}}}"


def _table_toml(table: str, cols: list[tuple[str, str, bool, str | None]], draw: st.DrawFn, earlier: list[str],
                identity: bool, label: str = "", fk_from: list[str] | None = None) -> list[str]:
    lines = [f"[tables.{table}]"]
    if identity:
        lines += ['columns.id = {type = "bigint", identity = true}', 'primary_key = ["id"]']
    lines += [_column_toml(*c, draw(COMMENTS)) for c in cols]
    comment = draw(COMMENTS)
    lines += [f"comment = {_string(comment)}"] if comment else []
    plain = [c[0] for c in cols if c[1] not in ("jsonb",)]
    if plain and _coin(draw):
        unique = draw(st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique=True))
        lines.append(f"unique = [{', '.join(repr(c).replace(chr(39), chr(34)) for c in [unique])}]".replace("'", '"'))
    if plain and _coin(draw):
        lines.append(f'indexed = [["{draw(st.sampled_from(plain))}"]]')
    texts = [c[0] for c in cols if c[1] == "text"]
    if texts and _coin(draw):  # a second round may change the set: the CHECK is replaced
        values = ["x", "y"] if not label else draw(st.sampled_from([["x", "y"], ["x", "y", "z"], ["y"]]))
        lines.append(f'allowed_values.{texts[0]} = {values}'.replace("'", '"'))
    numbers = [c[0] for c in cols if c[1] in ("bigint", "integer", "numeric(10,2)")]
    if numbers and _coin(draw):
        lines.append(f'checks = ["{numbers[0]} >= 0"]')
    if texts and _coin(draw):
        unique_index = str(draw(st.booleans())).lower()
        name = f"{table}_lower{label if draw(st.booleans()) else ''}"  # the same name again: rebuilt in its new shape
        lines.append(f'indexes.{name} = {{keys = ["lower({texts[-1]})"], unique = {unique_index}, '
                     f'where = "{texts[-1]} IS NOT NULL"}}')
    refs = [c[0] for c in cols if c[1] == "bigint" and not c[3] and (fk_from is None or c[0] in fk_from)]
    if earlier and refs and _coin(draw):
        action = draw(st.sampled_from(ACTIONS))
        lines.append(f'foreign_keys = [{{columns = ["{refs[0]}"], references = "{draw(st.sampled_from(earlier))}(id)", '
                     f'on_delete = "{action}"}}]')
    return lines


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, str]:
    """(expectations creating 1-3 tables, expectations changing them once they exist)."""
    count = draw(st.integers(1, 3))
    tables = [f"t{i}" for i in range(count)]
    first: list[str] = []
    second: list[str] = []
    for i, table in enumerate(tables):
        cols = draw(columns("c", draw(st.integers(1, 4))))
        first += _table_toml(table, cols, draw, tables[:i], identity=True) + [""]
        # later: the same columns (some now NOT NULL where a default proves them), plus new ones
        tightened = [(n, t, nn or d is not None, d) for n, t, nn, d in cols]
        added = [(n, t, d is not None and draw(st.booleans()), d) for n, t, _, d in draw(columns("n", draw(st.integers(0, 2))))]
        second += _table_toml(table, tightened + added, draw, tables, identity=True, label="2",
                              fk_from=[a[0] for a in added]) + [""]
    return "\n".join(first), "\n".join(second)


def _round(cluster: Cluster, url: str, folder: Path, toml: str, name: str) -> None:
    settings = settings_for(url, folder)
    expect = folder.parent / f"{name}.toml"
    expect.write_text(toml)
    before_ids = [m.id for m in commands.read_migrations(settings)] if folder.exists() else []
    with psycopg.connect(url, autocommit=True) as conn:
        before = inventory(conn)
    result = commands.generate(settings, [expect], name=name, check=False, live=bool(before_ids), allow_drop=True)
    assert not result.draft.unexpressed, (toml, result.draft.unexpressed)
    if result.draft.empty:  # the schema holds it already: nothing to write, and it verifies
        assert not commands.verify(settings, [expect]).errors and not before_ids == [], toml
        return
    lint = commands.lint(settings, [folder / f"{f.id}.sql" for f in result.files], use_cache=False)
    assert not lint.errors, (toml, [f.message for f in lint.errors])
    commands.migrate(settings)
    report = commands.verify(settings, [expect])
    assert not report.errors, (toml, [f.message for f in report.errors], [f.sql for f in result.files])
    with psycopg.connect(url, autocommit=True) as conn:
        after = inventory(conn)
    yes = lambda losses: True  # noqa: E731 -- the generated ones may roll back outside a transaction: a yes
    commands.rollback(settings, to=before_ids[-1], confirm=yes) if before_ids else commands.rollback(settings, everything=True, confirm=yes)
    with psycopg.connect(url, autocommit=True) as conn:
        assert inventory(conn) == before, toml
    commands.migrate(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        assert inventory(conn) == after, toml


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(histories())
def test_generate_apply_verify_and_roll_back(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory, history: tuple[str, str]) -> None:
    first, second = history
    folder = tmp_path_factory.mktemp("generated") / "migrations"
    folder.mkdir()
    with commands.scratch_database(cluster.settings) as url:
        _round(cluster, url, folder, first, "create")
        _round(cluster, url, folder, second, "change")
