"""What a draft is made of (changes with their undo, in two phases) and the planner's state:
the schema as planned so far, the names taken, the tables this draft creates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..catalog import Catalog, Column, Table
from ..sql.identifiers import quote
from ..sql.fragments import expression

MAX_NAME = 63  # PostgreSQL's identifier length


@dataclass
class Change:
    """One change and how to undo it, in the two phases of a draft: statements that run in one
    transaction, and statements that must run outside one, each committing on its own."""

    what: str
    tx: list[str] = field(default_factory=list)
    tx_undo: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    outside_undo: list[str] = field(default_factory=list)
    drops_data: bool = False


@dataclass
class Draft:
    changes: list[Change] = field(default_factory=list)
    unexpressed: list[str] = field(default_factory=list)
    existing_touched: bool = False  # a table that may hold rows is changed: a lock_timeout is needed

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def phases(self) -> list[str]:
        """The phases some change has statements in, in order: one migration file each."""
        return [p for p in ("tx", "outside") if any(getattr(c, p) for c in self.changes)]


def key_sql(key: str, table: Table) -> str:
    """An index key: a column name quoted, anything else one expression in parentheses."""
    if table.column(key) is not None:
        return quote(key)
    return f"({expression(key, f'index key of {table.name}')})"


def columns_sql(columns: Iterable[str]) -> str:
    return ", ".join(map(quote, columns))




class PlanState:
    """The schema as planned so far, the names taken, the draft being written."""

    def __init__(self, base: Catalog, allow_drop: bool, index_foreign_keys: bool, postgres: int) -> None:
        self.tables: dict[str, Table] = dict(base.tables)
        self.existing = set(base.tables)  # tables that may hold rows: the safe forms apply
        self.allow_drop = allow_drop
        self.index_foreign_keys = index_foreign_keys
        self.postgres = postgres  # the oldest major the migrations must run on (what is safe depends on it)
        self.draft = Draft()
        self.names = {i.name for t in base.tables.values() for i in t.indexes} | {t.name for t in base.tables.values()}
        self.created: dict[str, tuple[Change, list[str]]] = {}  # tables this draft creates: their CREATE and its lines

    def name(self, table: str, parts: Sequence[str], suffix: str, taken: Iterable[str] = ()) -> str:
        """PostgreSQL's own pattern (``table_col_suffix``), cut to 63 bytes, made unique."""
        used = self.names | set(taken)
        stem = "_".join([table.split(".")[-1], *[p for p in parts if p.isidentifier()]])[: MAX_NAME - len(suffix) - 4]
        candidate, n = f"{stem}_{suffix}", 0
        while candidate in used:
            n += 1
            candidate = f"{stem}_{suffix}{n}"
        self.names.add(candidate)
        return candidate

    def constraint_name(self, table: Table, parts: Sequence[str], suffix: str) -> str:
        taken = {c.name for c in table.checks} | {f.name for f in table.foreign_keys} | {u.name for u in table.uniques}
        return self.name(table.name, parts, suffix, taken)

    def unexpressed(self, text: str) -> None:
        self.draft.unexpressed.append(text)

    def add(self, change: Change, table: str) -> None:
        self.draft.changes.append(change)
        if table in self.existing:
            self.draft.existing_touched = True

    def _find(self, table: str) -> str | None:
        if table in self.tables:
            return table
        bare = table.removeprefix("public.")
        return bare if bare in self.tables else None

    def _sql_name(self, name: str) -> str:
        return self.tables[name].sql if name in self.tables else ".".join(map(quote, name.split(".")))

    def _write_create(self, name: str) -> None:
        change, lines = self.created[name]
        body = ",\n    ".join(lines)
        change.tx[:] = [f"CREATE TABLE {self.tables[name].sql} (\n    {body}\n);"]

    def _inline(self, name: str, clause: str, refers_to: str | None = None) -> bool:
        """Put ``clause`` into the CREATE TABLE of a table this draft creates (a foreign key only
        when its table is created before: in a cycle it comes after, as an ALTER TABLE)."""
        if name not in self.created:
            return False
        if refers_to in self.created and list(self.created).index(refers_to) > list(self.created).index(name):
            return False
        self.created[name][1].append(clause)
        self._write_create(name)
        return True

    def _set(self, name: str, **changes: object) -> Table:
        self.tables[name] = replace(self.tables[name], **changes)  # type: ignore[arg-type]
        return self.tables[name]

    def _replace_column(self, name: str, column: Column) -> None:
        table = self.tables[name]
        self._set(name, columns=tuple(column if c.name == column.name else c for c in table.columns))

    @staticmethod
    def _index_sql(table: Table, index: str) -> str:
        return quote(index) if table.schema == "public" else f"{quote(table.schema)}.{quote(index)}"
