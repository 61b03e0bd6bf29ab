"""From expectations and the schema at hand to the DDL that closes the gap, in lock-safe steps.

Pure: expectations and a catalog in, changes out. A table the catalog already has may be large
and busy, so changing it takes the safe forms: indexes CONCURRENTLY (outside a transaction),
foreign keys and checks NOT VALID then VALIDATE, NOT NULL through a validated CHECK, UNIQUE and
PRIMARY KEY through a concurrent unique index then ``USING INDEX``. A table this draft creates
gets plain DDL. What cannot be said safely (a backfill, a type change, a drop without
``allow_drop``) is listed as unexpressed, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..catalog import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from ..expect.model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation
from ..linter.rules.rewrite_default import VOLATILE
from ..sqltext.identifiers import literal, quote
from ..sqltext.meaning import normal_type, same
from .fragments import Unsafe, expression, sql_type

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
    planned: Catalog = field(default_factory=Catalog)  # the schema after the draft, as planned

    @property
    def empty(self) -> bool:
        return not self.changes


def _key_sql(key: str, table: Table) -> str:
    """An index key: a column name quoted, anything else one expression in parentheses."""
    if table.column(key) is not None:
        return quote(key)
    return f"({expression(key, f'index key of {table.name}')})"


def _columns_sql(columns: Iterable[str]) -> str:
    return ", ".join(map(quote, columns))


class _Planner:
    def __init__(self, base: Catalog, allow_drop: bool, index_foreign_keys: bool) -> None:
        self.tables: dict[str, Table] = dict(base.tables)
        self.existing = set(base.tables)  # tables that may hold rows: the safe forms apply
        self.allow_drop = allow_drop
        self.index_foreign_keys = index_foreign_keys
        self.draft = Draft()
        self.names = {i.name for t in base.tables.values() for i in t.indexes} | {t.name for t in base.tables.values()}
        self.created: dict[str, tuple[Change, list[str]]] = {}  # tables this draft creates: their CREATE and its lines

    # --- names ---------------------------------------------------------------------------
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

    # --- the plan --------------------------------------------------------------------------
    def plan(self, expectations: Sequence[TableExpectation]) -> Draft:
        new = [e for e in expectations if self._find(e.table) is None]
        created: set[str] = set()
        for exp in _creation_order(new):
            if exp.table not in created and self._create(exp):
                created.add(exp.table)
        for exp in expectations:
            name = self._find(exp.table)
            if name is not None:
                self._alter(exp, name)
        self.draft.planned = Catalog(dict(self.tables))
        return self.draft

    def _find(self, table: str) -> str | None:
        if table in self.tables:
            return table
        bare = table.removeprefix("public.")
        return bare if bare in self.tables else None

    def _sql_name(self, name: str) -> str:
        return self.tables[name].sql if name in self.tables else ".".join(map(quote, name.split(".")))

    # --- a new table -----------------------------------------------------------------------
    def _column_sql(self, spec: ColumnSpec, table: str, in_key: bool) -> tuple[str, Column]:
        assert spec.type is not None
        type_ = sql_type(spec.type, f"column {table}.{spec.name}")
        default = expression(spec.default, f"default of {table}.{spec.name}") if spec.default is not None else None
        if spec.identity and default is not None:
            raise Unsafe(f"column {table}.{spec.name}: an identity column has no default")
        if spec.identity and spec.not_null is False or in_key and spec.not_null is False:
            raise Unsafe(f"column {table}.{spec.name} cannot be nullable: it is "
                         + ("an identity column" if spec.identity else "in the primary key"))
        not_null = bool(spec.not_null or spec.identity or in_key)
        text = f"{quote(spec.name)} {type_}"
        text += " GENERATED ALWAYS AS IDENTITY" if spec.identity else ""
        text += " NOT NULL" if not_null else ""
        text += f" DEFAULT {default}" if default is not None else ""
        return text, Column(spec.name, type_, not_null, default, "always" if spec.identity else "")

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

    # --- a table that exists (or was just created by this draft) ---------------------------
    def _alter(self, exp: TableExpectation, name: str) -> None:
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
        wanted = list(exp.indexed) + ([fk.columns for fk in exp.foreign_keys] if self.index_foreign_keys else [])
        for columns in sorted(dict.fromkeys(wanted), key=len, reverse=True):
            self._indexed(name, columns)
        self._comments(name, exp)
        if exp.triggers is not None:
            have = {a.name for a in self.tables[name].attached_of("trigger")}
            if set(exp.triggers) != have:
                self.unexpressed(f"table {exp.table}: triggers {', '.join(sorted(set(exp.triggers) ^ have))} "
                                 "differ: a trigger needs its function, write it by hand")

    def _comments(self, name: str, exp: TableExpectation) -> None:
        """COMMENT ON TABLE / COLUMN where the expected text differs (metadata only: no lock on rows)."""
        table = self.tables[name]
        wanted = [("TABLE", table.sql, table.comment, exp.comment, "")]
        wanted += [("COLUMN", f"{table.sql}.{quote(c.name)}", column.comment, c.comment, c.name)
                   for c in exp.columns if (column := table.column(c.name)) is not None]
        for kind, target, current, comment, column_name in wanted:
            if comment is None or comment == current:
                continue
            undo = [] if name in self.created else [f"COMMENT ON {kind} {target} IS "
                                                    f"{literal(current) if current is not None else 'NULL'};"]
            self.add(Change(f"comment on {kind.lower()} {table.display}" + (f".{column_name}" if column_name else ""),
                            [f"COMMENT ON {kind} {target} IS {literal(comment)};"], undo), name)
            column = self.tables[name].column(column_name)
            if column is None:
                self._set(name, comment=comment)
            else:
                self._replace_column(name, replace(column, comment=comment))

    def _set(self, name: str, **changes: object) -> Table:
        self.tables[name] = replace(self.tables[name], **changes)  # type: ignore[arg-type]
        return self.tables[name]

    def _column(self, name: str, spec: ColumnSpec) -> None:
        table = self.tables[name]
        where = f"{table.display}.{spec.name}"
        column = table.column(spec.name)
        try:
            if column is None:
                self._add_column(name, spec)
                return
            if spec.type and normal_type(column.type) not in {normal_type(t) for t in spec.type.split("|")}:
                self.unexpressed(f"column {where}: its type is {column.type}, expected {spec.type}: a type change "
                                 "rewrites the table (add a new column, backfill it in batches, then switch)")
            if spec.identity is not None and spec.identity != bool(column.identity):
                self.unexpressed(f"column {where}: " + ("making it an identity column" if spec.identity else
                                 "dropping its identity") + " needs a sequence set past the existing values: by hand")
            if spec.default is not None and not same(spec.default, column.default):
                self._set_default(name, column, expression(spec.default, f"default of {where}"))
            if spec.not_null is not None and spec.not_null != column.not_null:
                self._nullability(name, column, spec.not_null)
        except Unsafe as exc:
            self.unexpressed(str(exc))

    def _add_column(self, name: str, spec: ColumnSpec) -> None:
        table = self.tables[name]
        where = f"{table.display}.{spec.name}"
        if spec.type is None:
            self.unexpressed(f"column {where}: no type declared, so it cannot be added")
            return
        existing = name in self.existing
        if existing and spec.identity:
            self.unexpressed(f"column {where}: adding an identity column rewrites {table.display} (every row "
                             "gets a value): add a nullable bigint, backfill it, then make it an identity by hand")
            return
        if existing and spec.default and VOLATILE.search(spec.default):
            self.unexpressed(f"column {where}: its default {spec.default} is volatile, so adding it rewrites "
                             f"{table.display}: add the column without a default, backfill in batches, then SET DEFAULT")
            return
        if existing and spec.not_null and spec.default is None:
            self.unexpressed(f"column {where}: NOT NULL without a default on a table that may hold rows needs a "
                             "backfill: add it nullable, fill it, then set NOT NULL (or declare a default)")
            return
        text, column = self._column_sql(spec, where, False)
        change = Change(f"add column {where}", [f"ALTER TABLE {table.sql} ADD COLUMN {text};"],
                        [f"ALTER TABLE {table.sql} DROP COLUMN {quote(spec.name)};"])
        self._set(name, columns=(*table.columns, column))
        self.add(change, name)

    def _set_default(self, name: str, column: Column, default: str) -> None:
        table = self.tables[name]
        alter = f"ALTER TABLE {table.sql} ALTER COLUMN {quote(column.name)}"
        undo = f"{alter} SET DEFAULT {column.default};" if column.default else f"{alter} DROP DEFAULT;"
        self.add(Change(f"set the default of {table.display}.{column.name}", [f"{alter} SET DEFAULT {default};"],
                        [undo]), name)
        self._replace_column(name, replace(column, default=default))

    def _replace_column(self, name: str, column: Column) -> None:
        table = self.tables[name]
        self._set(name, columns=tuple(column if c.name == column.name else c for c in table.columns))

    def _nullability(self, name: str, column: Column, not_null: bool) -> None:
        table = self.tables[name]
        alter = f"ALTER TABLE {table.sql} ALTER COLUMN {quote(column.name)}"
        if not not_null:
            if table.primary_key and column.name in table.primary_key.columns:
                self.unexpressed(f"column {table.display}.{column.name} is in the primary key: it cannot be nullable")
                return
            self.add(Change(f"make {table.display}.{column.name} nullable", [f"{alter} DROP NOT NULL;"],
                            [f"{alter} SET NOT NULL;"]), name)
        elif name not in self.existing:
            self.add(Change(f"make {table.display}.{column.name} NOT NULL", [f"{alter} SET NOT NULL;"],
                            [f"{alter} DROP NOT NULL;"]), name)
        else:  # proven by a validated CHECK first: SET NOT NULL then needs no scan under its lock
            check = self.constraint_name(table, [column.name], "not_null")
            add = f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(check)} CHECK ({quote(column.name)} IS NOT NULL) NOT VALID;"
            drop = f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(check)};"
            self.add(Change(f"make {table.display}.{column.name} NOT NULL (through a validated CHECK)",
                            tx=[add], tx_undo=[drop],
                            outside=[f"ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(check)};", f"{alter} SET NOT NULL;",
                                     drop],
                            outside_undo=[f"{alter} DROP NOT NULL;", add]), name)
        self._replace_column(name, replace(column, not_null=not_null))

    def _extra_columns(self, name: str, wanted: set[str]) -> None:
        table = self.tables[name]
        for column in table.columns:
            if column.name in wanted:
                continue
            if not self.allow_drop:
                self.unexpressed(f"column {table.display}.{column.name} is not expected (only_columns): dropping it "
                                 "loses its data; give --allow-drop to generate the DROP COLUMN")
                continue
            readd = f"ALTER TABLE {table.sql} ADD COLUMN {quote(column.name)} {column.type}" + (
                f" DEFAULT {column.default}" if column.default else "") + ";"
            self.add(Change(f"drop column {table.display}.{column.name}",
                            [f"ALTER TABLE {table.sql} DROP COLUMN {quote(column.name)};"], [readd], drops_data=True), name)
            self._set(name, columns=tuple(c for c in self.tables[name].columns if c.name != column.name))

    def _unique_index(self, name: str, index: str, columns: tuple[str, ...], kind: str) -> Change:
        """A concurrent unique index, then the constraint over it (brief ACCESS EXCLUSIVE, no scan)."""
        table = self.tables[name]
        return Change(f"{kind} ({', '.join(columns)}) on {table.display}", outside=[
            f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote(index)} ON {table.sql} ({_columns_sql(columns)});",
            f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(index)} {kind} USING INDEX {quote(index)};"],
            outside_undo=[f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(index)};"])

    def _primary_key(self, name: str, columns: tuple[str, ...]) -> None:
        table = self.tables[name]
        if table.primary_key is not None:
            if table.primary_key.columns != columns:
                self.unexpressed(f"table {table.display}: its primary key is ({', '.join(table.primary_key.columns)}), "
                                 f"expected ({', '.join(columns)}): changing a primary key is done by hand")
            return
        missing = [c for c in columns if table.column(c) is None]
        if missing:
            self.unexpressed(f"table {table.display}: primary key column {', '.join(missing)} does not exist")
            return
        for column in columns:
            current = self.tables[name].column(column)
            if current is not None and not current.not_null:
                self._nullability(name, current, True)
        table = self.tables[name]
        pkey = self.name(table.name, [], "pkey")
        clause = f"CONSTRAINT {quote(pkey)} PRIMARY KEY ({_columns_sql(columns)})"
        if name in self.existing:
            self.add(self._unique_index(name, pkey, columns, "PRIMARY KEY"), name)
        elif not self._inline(name, clause):
            self.add(Change(f"primary key on {table.display}", [f"ALTER TABLE {table.sql} ADD {clause};"],
                            [f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(pkey)};"]), name)
        self._set(name, primary_key=PrimaryKey(pkey, columns),
                  indexes=(*table.indexes, Index(pkey, columns, unique=True, primary=True, constraint=pkey)))
        self._retire_prefixes(name, self.tables[name].indexes[-1])

    def _unique(self, name: str, columns: tuple[str, ...]) -> None:
        table = self.tables[name]
        if table.is_unique_on(columns) or (table.primary_key is not None and set(table.primary_key.columns) == set(columns)):
            return
        missing = [c for c in columns if table.column(c) is None]
        if missing:
            self.unexpressed(f"table {table.display}: unique column {', '.join(missing)} does not exist")
            return
        key = self.name(table.name, columns, "key")
        clause = f"CONSTRAINT {quote(key)} UNIQUE ({_columns_sql(columns)})"
        if name in self.existing:
            self.add(self._unique_index(name, key, columns, "UNIQUE"), name)
        elif not self._inline(name, clause):
            self.add(Change(f"unique ({', '.join(columns)}) on {table.display}", [f"ALTER TABLE {table.sql} ADD {clause};"],
                            [f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(key)};"]), name)
        self._set(name, uniques=(*table.uniques, Unique(key, columns)),
                  indexes=(*table.indexes, Index(key, columns, unique=True, constraint=key)))
        self._retire_prefixes(name, self.tables[name].indexes[-1])

    def _constraint(self, name: str, constraint: str, body: str, what: str, refers_to: str | None = None) -> None:
        """ADD CONSTRAINT: plain on a table this draft creates, else NOT VALID then VALIDATE."""
        table = self.tables[name]
        if self._inline(name, f"CONSTRAINT {quote(constraint)} {body}", refers_to):
            return
        add = f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(constraint)} {body}"
        drop = f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(constraint)};"
        if name not in self.existing:
            self.add(Change(what, [f"{add};"], [drop]), name)
            return
        self.add(Change(f"{what} (NOT VALID, then VALIDATE)", tx=[f"{add} NOT VALID;"], tx_undo=[drop],
                        outside=[f"ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(constraint)};"],
                        outside_undo=[drop, f"{add} NOT VALID;"]), name)

    def _foreign_key(self, name: str, spec: ForeignKeySpec) -> None:
        table = self.tables[name]
        found = [fk for fk in table.foreign_keys if fk.columns == spec.columns]
        if found:
            fk = found[0]
            if (fk.ref_table != spec.ref_table.removeprefix("public.") or fk.ref_columns != spec.ref_columns
                    or any(getattr(spec, a) is not None and getattr(spec, a) != getattr(fk, a)
                           for a in ("on_delete", "on_update", "deferrable"))):
                self.unexpressed(f"foreign key {fk.name} on {table.display} differs from the expectation: replace it "
                                 "by hand (drop it, then add the new one NOT VALID and VALIDATE it)")
            return
        ref = self._find(spec.ref_table)
        ref_columns = spec.ref_columns
        if ref is not None and not ref_columns and self.tables[ref].primary_key is not None:
            ref_columns = self.tables[ref].primary_key.columns  # type: ignore[union-attr]
        missing = [c for c in spec.columns if table.column(c) is None]
        if missing or ref is None or not ref_columns:
            self.unexpressed(f"foreign key {table.display}({', '.join(spec.columns)}) -> {spec.ref_table}: " + (
                f"column {', '.join(missing)} does not exist" if missing else f"table {spec.ref_table} is not known"
                if ref is None else "the referenced table has no primary key to refer to"))
            return
        constraint = self.constraint_name(table, spec.columns, "fkey")
        body = (f"FOREIGN KEY ({_columns_sql(spec.columns)}) REFERENCES {self._sql_name(ref)} ({_columns_sql(ref_columns)})"
                + (f" ON DELETE {spec.on_delete.upper()}" if spec.on_delete and spec.on_delete != "no action" else "")
                + (f" ON UPDATE {spec.on_update.upper()}" if spec.on_update and spec.on_update != "no action" else "")
                + (" DEFERRABLE" if spec.deferrable else ""))
        self._constraint(name, constraint, body, f"foreign key {table.display}({', '.join(spec.columns)}) -> {ref}", ref)
        self._set(name, foreign_keys=(*table.foreign_keys, ForeignKey(
            constraint, spec.columns, self.tables[ref].name if self.tables[ref].schema == "public" else ref, ref_columns,
            spec.on_delete or "no action", spec.on_update or "no action", bool(spec.deferrable))))

    def _add_check(self, name: str, text: str, columns: tuple[str, ...], what: str) -> None:
        table = self.tables[name]
        constraint = self.constraint_name(table, columns, "check")
        self._constraint(name, constraint, f"CHECK ({text})", what)
        self._set(name, checks=(*table.checks, CheckConstraint(constraint, text, columns)))

    def _allowed(self, name: str, column: str, values: tuple[str, ...]) -> None:
        table = self.tables[name]
        if table.column(column) is None:
            self.unexpressed(f"allowed values of {table.display}.{column}: the column does not exist")
            return
        actual = table.allowed_values(column)
        if actual is not None and set(actual) == set(values):
            return
        if actual is not None:
            self.unexpressed(f"{table.display}.{column}: a CHECK allows ({', '.join(actual)}), expected "
                             f"({', '.join(values)}): replace that CHECK by hand (add the new one NOT VALID, "
                             "VALIDATE it, drop the old)")
            return
        text = f"{quote(column)} IN ({', '.join(literal(v) for v in values)})"
        self._add_check(name, text, (column,), f"check {table.display}.{column} in ({', '.join(values)})")

    def _check(self, name: str, text: str) -> None:
        table = self.tables[name]
        found = [c for c in table.checks if same(c.expression, text)]
        if any(c.validated for c in found):
            return
        try:
            safe = expression(text, f"check on {table.display}")
        except Unsafe as exc:
            self.unexpressed(str(exc))
            return
        if found:  # there, NOT VALID: validating it is all that is left
            check = found[0]
            body = f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(check.name)} CHECK ({check.expression}) NOT VALID;"
            self.add(Change(f"validate check {check.name} on {table.display}",
                            outside=[f"ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(check.name)};"],
                            outside_undo=[f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(check.name)};", body]), name)
            self._set(name, checks=tuple(replace(c, validated=True) if c is check else c for c in table.checks))
            return
        self._add_check(name, safe, (), f"check ({text}) on {table.display}")

    def _create_index(self, name: str, index: Index, keys_sql: str, what: str) -> None:
        table = self.tables[name]
        using = f" USING {index.method}" if index.method != "btree" else ""
        where = f" WHERE ({index.predicate})" if index.predicate else ""
        unique = "UNIQUE " if index.unique else ""
        if name in self.existing:
            change = Change(f"{what} (CONCURRENTLY)", outside=[
                f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {quote(index.name)} ON {table.sql}{using} "
                f"({keys_sql}){where};"], outside_undo=[f"DROP INDEX CONCURRENTLY IF EXISTS {self._index_sql(table, index.name)};"])
        else:
            change = Change(what, [f"CREATE {unique}INDEX {quote(index.name)} ON {table.sql}{using} ({keys_sql}){where};"],
                            [] if name in self.created else [f"DROP INDEX {self._index_sql(table, index.name)};"])
        self.add(change, name)
        self._set(name, indexes=(*table.indexes, index))
        if index.unique:
            self._retire_prefixes(name, index)

    @staticmethod
    def _index_sql(table: Table, index: str) -> str:
        return quote(index) if table.schema == "public" else f"{quote(table.schema)}.{quote(index)}"

    def _named_index(self, name: str, spec: IndexSpec) -> None:
        table = self.tables[name]
        if any(i.name == spec.name for i in table.indexes):
            found = next(i for i in table.indexes if i.name == spec.name)
            if spec.keys is not None and (len(spec.keys) != len(found.keys) or
                                          not all(same(a, b) for a, b in zip(spec.keys, found.keys))) \
                    or spec.unique is not None and spec.unique != found.unique \
                    or spec.where is not None and not same(spec.where, found.predicate):
                self.unexpressed(f"index {spec.name} on {table.display} exists with another shape: rebuild it by hand "
                                 "(CREATE INDEX CONCURRENTLY under a new name, then drop the old one)")
            return
        if not spec.keys:
            self.unexpressed(f"index {spec.name} on {table.display}: no keys declared")
            return
        try:
            keys_sql = ", ".join(_key_sql(k, table) for k in spec.keys)
            where = expression(spec.where, f"WHERE of index {spec.name}") if spec.where else None
            method = spec.method.lower() if spec.method else "btree"
            if not method.isidentifier():
                raise Unsafe(f"index {spec.name}: method {spec.method!r} is not an access method name")
        except Unsafe as exc:
            self.unexpressed(str(exc))
            return
        self.names.add(spec.name)
        index = Index(spec.name, spec.keys, bool(spec.unique), method=method, predicate=where)
        self._create_index(name, index, keys_sql, f"index {spec.name} on {table.display}")

    def _indexed(self, name: str, columns: tuple[str, ...]) -> None:
        table = self.tables[name]
        if table.is_indexed_on(columns):
            return
        missing = [c for c in columns if table.column(c) is None]
        if missing:
            self.unexpressed(f"index on {table.display}({', '.join(columns)}): column {', '.join(missing)} does not exist")
            return
        index = Index(self.name(table.name, columns, "idx"), columns)
        self._create_index(name, index, _columns_sql(columns), f"index on {table.display}({', '.join(columns)})")
        self._retire_prefixes(name, index)

    def _retire_prefixes(self, name: str, new: Index) -> None:
        """A plain btree index on a left prefix of a new btree index is redundant now: drop it."""
        if new.predicate is not None or new.method != "btree":
            return
        table = self.tables[name]
        for old in table.indexes:
            if old.name != new.name and not old.unique and old.predicate is None and old.method == "btree" \
                    and not old.include and old.keys == new.keys[: len(old.keys)] and all(table.column(k) for k in old.keys):
                self._drop_redundant(name, old, new.name)

    def _drop_redundant(self, name: str, old: Index, by: str) -> None:
        table = self.tables[name]
        if not self.allow_drop:
            self.unexpressed(f"index {by} on {table.display} makes {old.name} ({', '.join(old.keys)}) redundant: "
                             "give --allow-drop to drop it (DROP INDEX CONCURRENTLY), or drop it by hand")
            return
        index_sql = self._index_sql(table, old.name)
        rebuild = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(old.name)} ON {table.sql} ({_columns_sql(old.keys)});"
        self.add(Change(f"drop index {old.name}, made redundant by {by}", outside=[
            f"DROP INDEX CONCURRENTLY IF EXISTS {index_sql};"], outside_undo=[rebuild]), name)
        self._set(name, indexes=tuple(i for i in self.tables[name].indexes if i.name != old.name))


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
          index_foreign_keys: bool = True) -> Draft:
    """The changes that take ``schema`` to what ``expectations`` declare (see the module).
    ``index_foreign_keys``: the columns of each expected foreign key lead an index (the
    ``fk-indexed`` invariant), made when none does."""
    return _Planner(schema, allow_drop, index_foreign_keys).plan(expectations)
