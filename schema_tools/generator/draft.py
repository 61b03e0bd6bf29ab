"""From expectations and the schema at hand to the DDL that closes the gap, in lock-safe steps.

Pure: expectations and a catalog in, changes out. A table the catalog already has may be large
and busy, so changing it takes the safe forms: indexes CONCURRENTLY (outside a transaction),
foreign keys and checks NOT VALID then VALIDATE, NOT NULL through a validated CHECK, UNIQUE and
PRIMARY KEY through a concurrent unique index then ``USING INDEX``. A table this draft creates
gets plain DDL. What cannot be said safely (a backfill, a type change, a drop without
``allow_drop``) is listed as unexpressed, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..catalog import Catalog, Table
from ..config import POSTGRES_OLDEST
from ..expect.model import TableExpectation
from ..sql.fragments import Unsafe
from .keys import KeyPlanner
from .state import Change, Draft

__all__ = ["Change", "Draft", "draft"]


class Planner(KeyPlanner):
    """New tables first (referenced before referring), then each expected table's columns, keys,
    checks, indexes and comments."""

    def plan(self, expectations: Sequence[TableExpectation]) -> Draft:
        expectations = [e for e in expectations if self._plain_names(e)]
        new = [e for e in expectations if self._find(e.table) is None]
        created: set[str] = set()
        for exp in _creation_order(new):
            if exp.table not in created and self._create(exp):
                created.add(exp.table)
        for exp in expectations:
            name = self._find(exp.table)
            if name is not None:
                self._alter(exp, name)
        self._drop_nul_changes()
        return self.draft

    def _drop_nul_changes(self) -> None:
        """A value from the expectations with a NUL byte (a check's allowed value, say): no SQL text
        may hold one, and every reader refuses such a file, so that change is not written."""
        kept = []
        for change in self.draft.changes:
            if any("\x00" in s for s in (*change.tx, *change.tx_undo, *change.outside, *change.outside_undo)):
                self.unexpressed(f"{change.what}: a value holds a NUL byte, which no SQL text may hold")
            else:
                kept.append(change)
        self.draft.changes = kept

    def _plain_names(self, exp: TableExpectation) -> bool:
        """Names with a NUL or another control character are refused (a file holding one is refused
        by every reader, and a line break in a name is a trap for whoever reads the SQL)."""
        names = [exp.table, *(c.name for c in exp.columns), *(i.name for i in exp.indexes)]
        bad = [n for n in names if any(ord(ch) < 32 or ord(ch) == 127 for ch in n)]
        if bad:
            self.unexpressed(f"table {exp.table!r}: the name {bad[0]!r} holds a control character: rename it")
        return not bad

    def _create(self, exp: TableExpectation) -> bool:
        untyped = [c.name for c in exp.columns if c.type is None]
        if untyped or not exp.columns:
            self.unexpressed(f"table {exp.table}: " + (f"no type for column {', '.join(untyped)}" if untyped else
                             "no columns are declared") + ": declare them (columns.NAME = \"type\") to create it")
            return False
        schema, _, bare = exp.table.rpartition(".")
        table = Table(schema or "public", bare)
        self.names.add(bare)
        lines, columns = [], []
        try:
            for spec in exp.columns:
                text, column = self._column_sql(spec, exp.table, spec.name in (exp.primary_key or ()))
                lines.append(text)
                columns.append(column)
        except Unsafe as exc:
            self.unexpressed(str(exc))
            return False
        table = replace(table, columns=tuple(columns))
        known = {c.name for c in columns}
        used = {*(exp.primary_key or ()), *(c for u in exp.unique for c in u), *(c for fk in exp.foreign_keys
                                                                                for c in fk.columns),
                *exp.allowed_values}
        missing = sorted(used - known)
        if missing:
            self.unexpressed(f"table {exp.table}: column {', '.join(missing)} is used by a key or check but not "
                             "declared with a type")
            return False
        self.tables[exp.table] = table
        change = Change(f"create table {exp.table}", tx_undo=[f"DROP TABLE {table.sql};"])
        self.created[exp.table] = (change, lines)
        self._write_create(exp.table)
        self.add(change, exp.table)
        return True

    def _alter(self, exp: TableExpectation, name: str) -> None:
        had = {tuple(fk.columns) for fk in self.tables[name].foreign_keys} if name in self.tables else set()
        for spec in exp.columns:
            self._column(name, spec)
        if exp.only_columns:
            self._extra_columns(name, {c.name for c in exp.columns})
        if exp.primary_key is not None:
            self._primary_key(name, exp.primary_key)
        for columns in exp.unique:
            self._unique(name, columns)
        for fk in exp.foreign_keys:
            self._foreign_key(name, fk)
        for column, values in exp.allowed_values.items():
            self._allowed(name, column, values)
        for text in exp.checks:
            self._check(name, text)
        for index in exp.indexes:
            self._named_index(name, index)
        new_keys = [fk.columns for fk in exp.foreign_keys if tuple(fk.columns) not in had]  # a key there already is
        wanted = list(exp.indexed) + (new_keys if self.index_foreign_keys else [])  # not this draft's business
        for columns in sorted(dict.fromkeys(wanted), key=len, reverse=True):
            self._indexed(name, columns)
        self._comments(name, exp)
        if exp.triggers is not None:
            have = {a.name for a in self.tables[name].attached_of("trigger")}
            if set(exp.triggers) != have:
                self.unexpressed(f"table {exp.table}: triggers {', '.join(sorted(set(exp.triggers) ^ have))} "
                                 "differ: a trigger needs its function, write it by hand")


def _creation_order(expectations: Sequence[TableExpectation]) -> list[TableExpectation]:
    """New tables so that a referenced table comes before the tables that refer to it (a cycle
    keeps the given order: its foreign keys are added after both tables exist)."""
    by_name = {e.table: e for e in expectations}
    done: list[TableExpectation] = []
    seen: set[str] = set()

    def visit(exp: TableExpectation, path: tuple[str, ...]) -> None:
        if exp.table in seen or exp.table in path:
            return
        for fk in exp.foreign_keys:
            ref = by_name.get(fk.ref_table) or by_name.get(fk.ref_table.removeprefix("public."))
            if ref is not None and ref.table != exp.table:
                visit(ref, (*path, exp.table))
        seen.add(exp.table)
        done.append(exp)

    for exp in expectations:
        visit(exp, ())
    return done


def draft(expectations: Sequence[TableExpectation], schema: Catalog, *, allow_drop: bool = False,
          index_foreign_keys: bool = True, postgres: int = POSTGRES_OLDEST) -> Draft:
    """The changes that take ``schema`` to what ``expectations`` declare (see the module).
    ``index_foreign_keys``: the columns of each foreign key the draft adds lead an index (the
    ``fk-indexed`` invariant), made when none does (a key the schema has already is left as it is). ``postgres``: the oldest major the migrations
    must run on (before 11 a default rewrites the table; before 12 SET NOT NULL scans it anyway)."""
    return Planner(schema, allow_drop, index_foreign_keys, postgres).plan(expectations)
