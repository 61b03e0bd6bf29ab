"""Fold migration files, in order, into the schema they declare -- no database needed.

Modelled: CREATE TABLE (columns, inline and table constraints), CREATE INDEX, ALTER TABLE
ADD/DROP/ALTER COLUMN, ADD/DROP CONSTRAINT, RENAME (table, column with or without COLUMN,
constraint), ALTER INDEX ... RENAME, DROP TABLE/INDEX, COMMENT ON TABLE/COLUMN (a plain string or NULL).
Everything else is kept; statements that may change tables but are not modelled (DO blocks,
plpgsql, ALTER ... that sqlglot keeps as a Command) are reported as ``not-modelled`` notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from sqlglot import exp

from ..catalog import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from ..findings import Finding, Severity
from ..sqltext.meaning import rename_column
from .names import SERIALS, ident, pg_type, sql_of, table_name
from .parse import Parsed
from .renames import Rename, read_rename, unquote

MAY_CHANGE_TABLES = re.compile(r"^(ALTER\s+TABLE|DO\b|CALL\b|EXECUTE\b|ALTER\s+INDEX|CREATE\s+TABLE)", re.IGNORECASE)
NAME = r'("(?:[^"]|"")+"|[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)'
VALIDATE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?{NAME}\s+VALIDATE\s+CONSTRAINT\s+{NAME}",
                      re.IGNORECASE)
USING_INDEX = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?{NAME}\s+ADD\s+CONSTRAINT\s+{NAME}\s+"
                         rf"(UNIQUE|PRIMARY\s+KEY)\s+USING\s+INDEX\s+{NAME}", re.IGNORECASE)
HARMLESS_ALTER = re.compile(r"\b(OWNER\s+TO|(ENABLE|DISABLE|FORCE|NO\s+FORCE)\s+ROW\s+LEVEL\s+SECURITY|SET\s+STATISTICS|"
                            r"CLUSTER\s+ON|SET\s+WITHOUT\s+CLUSTER|(ENABLE|DISABLE)\s+(ALWAYS\s+|REPLICA\s+)?TRIGGER|"
                            r"REPLICA\s+IDENTITY|SET\s*\(|RESET\s*\()")
PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
COMMENT_ON = re.compile(rf"^\s*COMMENT\s+ON\s+(TABLE|COLUMN)\s+({PART}(?:\s*\.\s*{PART}){{0,2}})\s+IS\s+"
                        r"(NULL|'(?:[^']|'')*')\s*;?\s*$", re.IGNORECASE | re.DOTALL)
ACTION_WORDS = {"CASCADE": "cascade", "RESTRICT": "restrict", "SET NULL": "set null", "SET DEFAULT": "set default",
                "NO ACTION": "no action"}


@dataclass
class DraftTable:
    """A table as the files declare it so far: mutable while the migrations are folded in."""

    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    pk: PrimaryKey | None = None
    fks: dict[str, ForeignKey] = field(default_factory=dict)
    uniques: dict[str, Unique] = field(default_factory=dict)
    checks: dict[str, CheckConstraint] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    comment: str | None = None

    def freeze(self) -> Table:
        return Table(self.schema, self.name, tuple(self.columns.values()), self.pk, tuple(self.fks.values()),
                     tuple(self.uniques.values()), tuple(self.checks.values()),
                     tuple(sorted(self.indexes.values(), key=lambda i: i.name)), self.comment)


def _action(options: list[object], which: str) -> str:
    for option in options:
        text = str(option).upper()
        if text.startswith(f"ON {which} "):
            return ACTION_WORDS.get(text[len(which) + 4:], text[len(which) + 4:].lower())
    return "no action"


def _flags(options: list[object]) -> tuple[bool, bool]:
    words = " ".join(str(o).upper() for o in options)
    deferrable = "DEFERRABLE" in words and "NOT DEFERRABLE" not in words
    return deferrable, "INITIALLY DEFERRED" in words


class DeclaredSchema:
    """The schema as the files declare it, built one statement at a time."""

    def __init__(self) -> None:
        self.tables: dict[str, DraftTable] = {}
        self.index_owner: dict[str, str] = {}
        self.notes: list[Finding] = []
        self.origins: dict[str, tuple[str, int]] = {}  # "table.object" -> (file, line) that declared it
        self._current: Parsed | None = None
        self.column_migration: dict[tuple[str, str], str] = {}  # (table, column) -> migration that added it
        self.created_in: dict[str, str] = {}  # table -> the migration whose CREATE TABLE made it (modelled or not)

    # --- queries -------------------------------------------------------------------------
    def catalog(self) -> Catalog:
        return Catalog({name: t.freeze() for name, t in self.tables.items()})

    # --- folding -------------------------------------------------------------------------
    def apply(self, p: Parsed) -> None:
        """Fold one statement in; never raises."""
        node = p.node
        self._current = p
        try:
            rename = read_rename(p.statement.sql)
            comment = COMMENT_ON.match(p.statement.sql) if node is None else None
            if rename is not None:
                self._rename(rename)
            elif comment is not None:
                self._comment(comment)
            elif isinstance(node, exp.Create):
                self._create(node, p)
            elif isinstance(node, exp.Alter) and str(node.args.get("kind", "")).upper() == "TABLE":
                self._alter(node, p)
            elif isinstance(node, exp.Drop):
                self._drop(node)
            elif p.is_command and p.command_text.startswith("ALTER TABLE"):
                self._alter_command(p)
            elif p.is_command and MAY_CHANGE_TABLES.match(p.command_text):
                self._note(p, "this statement may change tables but is not modelled (kept as text)")
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:  # sqlglot shapes we did not expect
            self._note(p, f"not modelled ({type(exc).__name__})")

    def _alter_command(self, p: Parsed) -> None:
        """ALTER TABLE forms sqlglot keeps as text: the two the safe recipes use are modelled."""
        text = p.command_text
        if HARMLESS_ALTER.search(text):
            return
        match = VALIDATE.match(p.statement.sql)
        if match:
            t = self.tables.get(unquote(match.group(1)))
            name = unquote(match.group(2))
            if t is not None:
                if name in t.fks:
                    t.fks[name] = replace(t.fks[name], validated=True)
                if name in t.checks:
                    t.checks[name] = replace(t.checks[name], validated=True)
            return
        match = USING_INDEX.match(p.statement.sql)
        if match:
            t = self.tables.get(unquote(match.group(1)))
            constraint, kind, index = unquote(match.group(2)), match.group(3).upper(), unquote(match.group(4))
            if t is not None and index in t.indexes:
                old = t.indexes.pop(index)
                t.indexes[constraint] = replace(old, name=constraint, constraint=constraint, primary=kind == "PRIMARY KEY")
                if kind == "PRIMARY KEY":
                    t.pk = PrimaryKey(constraint, old.keys)
                else:
                    t.uniques[constraint] = Unique(constraint, old.keys)
            return
        self._note(p, "this ALTER TABLE form is not modelled (kept as text)")

    def _note(self, p: Parsed, message: str) -> None:
        self.notes.append(Finding("not-modelled", message, Severity.NOTE, p.migration.id, "",
                                  p.file, p.statement.line, 1))

    def _create(self, node: exp.Create, p: Parsed) -> None:
        kind = str(node.args.get("kind", "")).upper()
        if kind == "TABLE":
            target = node.this.this if isinstance(node.this, exp.Schema) else node.this
            if isinstance(target, exp.Table):
                self.created_in[table_name(target)] = p.migration.id
        if kind == "TABLE" and isinstance(node.this, exp.Schema):
            self._create_table(node.this, bool(node.args.get("exists")))
        elif kind == "INDEX" and isinstance(node.this, exp.Index):
            self._create_index(node.this, bool(node.args.get("unique")))
        elif kind == "TABLE":
            self._note(p, "CREATE TABLE without a column list (AS / LIKE / PARTITION OF) is not modelled")

    def _create_table(self, schema: exp.Schema, if_not_exists: bool) -> None:
        name = table_name(schema.this)
        if name in self.tables and if_not_exists:
            return
        table_schema = ident(schema.this.args.get("db")) or "public"
        t = self.tables[name] = DraftTable(table_schema, name.split(".")[-1])
        for item in schema.expressions:
            if isinstance(item, exp.ColumnDef):
                self._add_column(t, item)
            else:
                self._add_constraint(t, item)

    def _add_column(self, t: DraftTable, col: exp.ColumnDef) -> None:
        name = ident(col.this)
        kind = col.args.get("kind")
        column = Column(name, pg_type(kind))
        if kind is not None and kind.this in SERIALS:
            column = replace(column, not_null=True, default=f"nextval('{t.name}_{name}_seq'::regclass)")
        for constraint in col.constraints:
            c = constraint.kind
            if isinstance(c, exp.NotNullColumnConstraint):
                column = replace(column, not_null=not c.args.get("allow_null"))
            elif isinstance(c, exp.DefaultColumnConstraint):
                column = replace(column, default=sql_of(c.this))
            elif isinstance(c, exp.GeneratedAsIdentityColumnConstraint):
                column = replace(column, identity="always" if c.this else "by default", not_null=True)
            elif isinstance(c, exp.ComputedColumnConstraint):
                column = replace(column, generated=sql_of(c.this))
            elif isinstance(c, exp.PrimaryKeyColumnConstraint):
                column = replace(column, not_null=True)
                self._primary_key(t, f"{t.name}_pkey", (name,))
            elif isinstance(c, exp.UniqueColumnConstraint):
                self._unique(t, f"{t.name}_{name}_key", (name,))
            elif isinstance(c, exp.Reference):
                self._foreign_key(t, f"{t.name}_{name}_fkey", (name,), c)
            elif isinstance(c, exp.CheckColumnConstraint):
                self._check(t, f"{t.name}_{name}_check", c.this, (name,))
        t.columns[name] = column
        if self._current is not None:
            self.column_migration[(f"{t.schema}.{t.name}" if t.schema != "public" else t.name, name)] = \
                self._current.migration.id

    def _add_constraint(self, t: DraftTable, item: exp.Expression, not_valid: bool = False) -> None:
        given = ident(item.this) if isinstance(item, exp.Constraint) else ""
        parts = item.expressions if isinstance(item, exp.Constraint) else [item]
        for part in parts:
            if isinstance(part, exp.PrimaryKey):
                self._primary_key(t, given or f"{t.name}_pkey", tuple(ident(e) for e in part.expressions))
            elif isinstance(part, exp.UniqueColumnConstraint):
                cols = tuple(ident(e) for e in part.this.expressions) if part.this is not None else ()
                self._unique(t, given or f"{t.name}_{'_'.join(cols)}_key", cols)
            elif isinstance(part, exp.ForeignKey):
                cols = tuple(ident(e) for e in part.expressions)
                self._foreign_key(t, given or f"{t.name}_{'_'.join(cols)}_fkey", cols, part.args["reference"], not_valid)
            elif isinstance(part, exp.CheckColumnConstraint):
                used = tuple(sorted({ident(c) for c in part.this.find_all(exp.Column)} & set(t.columns)))
                default_name = f"{t.name}_{used[0]}_check" if len(used) == 1 else f"{t.name}_check"
                self._check(t, given or default_name, part.this, used, not_valid)

    def _origin(self, t: DraftTable, name: str) -> None:
        if self._current is not None:
            self.origins[f"{t.name}.{name}"] = (self._current.file, self._current.statement.line)

    def origin(self, table: str, name: str) -> tuple[str, int] | None:
        """Where the files declare an index or constraint."""
        return self.origins.get(f"{table.split('.')[-1]}.{name}")

    def _primary_key(self, t: DraftTable, name: str, cols: tuple[str, ...]) -> None:
        t.pk = PrimaryKey(name, cols)
        for col in cols:
            if col in t.columns:
                t.columns[col] = replace(t.columns[col], not_null=True)
        self._index(t, Index(name, cols, unique=True, primary=True, constraint=name))

    def _unique(self, t: DraftTable, name: str, cols: tuple[str, ...]) -> None:
        t.uniques[name] = Unique(name, cols)
        self._index(t, Index(name, cols, unique=True, constraint=name))

    def _foreign_key(self, t: DraftTable, name: str, cols: tuple[str, ...], ref: exp.Reference, not_valid: bool = False) -> None:
        target = ref.this
        ref_table = table_name(target.this if isinstance(target, exp.Schema) else target)
        ref_cols = tuple(ident(e) for e in target.expressions) if isinstance(target, exp.Schema) else ()
        if not ref_cols and ref_table in self.tables and self.tables[ref_table].pk:
            ref_cols = self.tables[ref_table].pk.columns  # type: ignore[union-attr]
        options = ref.args.get("options") or []
        deferrable, deferred = _flags(options)
        self._origin(t, name)
        t.fks[name] = ForeignKey(name, cols, ref_table, ref_cols, _action(options, "DELETE"), _action(options, "UPDATE"),
                                 deferrable, deferred, not not_valid)

    def _check(self, t: DraftTable, name: str, expression: exp.Expression, cols: tuple[str, ...], not_valid: bool = False) -> None:
        base, n = name, 1
        while name in t.checks:  # PostgreSQL numbers clashing default names: t_check, t_check1, ...
            name, n = f"{base}{n}", n + 1
        t.checks[name] = CheckConstraint(name, sql_of(expression) or "", cols, not not_valid)

    def _index(self, t: DraftTable, index: Index) -> None:
        self._origin(t, index.name)
        t.indexes[index.name] = index
        self.index_owner[index.name] = f"{t.schema}.{t.name}" if t.schema != "public" else t.name

    def _create_index(self, node: exp.Index, unique: bool) -> None:
        table = table_name(node.args.get("table"))
        t = self.tables.get(table)
        if t is None:
            return
        params = node.args.get("params")
        keys = []
        for ordered in (params.args.get("columns") or []) if params else []:
            key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
            key = key.this if isinstance(key, exp.Opclass) else key  # like the catalog's keys: no opclass, no order
            keys.append(ident(key) if isinstance(key, exp.Column) else sql_of(key) or "")
        using = params.args.get("using") if params else None
        where = params.args.get("where") if params else None
        name = ident(node.this) or f"{t.name}_{'_'.join(k for k in keys if k.isidentifier())}_idx"
        method = using.name.lower() if using is not None else "btree"
        self._index(t, Index(name, tuple(keys), unique, False, method, sql_of(where.this) if where else None))

    def _alter(self, node: exp.Alter, p: Parsed) -> None:
        name = table_name(node.this)
        t = self.tables.get(name)
        if t is None:
            return
        for action in node.args.get("actions") or []:
            if isinstance(action, exp.ColumnDef):
                self._add_column(t, action)
            elif isinstance(action, exp.AddConstraint):
                for item in action.expressions:
                    self._add_constraint(t, item, bool(node.args.get("not_valid")))
            elif isinstance(action, exp.Drop):
                self._drop_in_table(t, action)
            elif isinstance(action, exp.AlterColumn):
                self._alter_column(t, action)
            else:  # a RENAME was read from the text before (sqlglot misreads RENAME without COLUMN)
                self._note(p, f"ALTER TABLE action {type(action).__name__} is not modelled")

    def _drop_in_table(self, t: DraftTable, action: exp.Drop) -> None:
        kind = str(action.args.get("kind", "")).upper()
        for target in action.args.get("tables") or []:
            what = ident(target)
            if kind == "COLUMN":
                t.columns.pop(what, None)
                t.indexes = {n: i for n, i in t.indexes.items() if what not in i.keys}
                t.uniques = {n: u for n, u in t.uniques.items() if what not in u.columns}
                t.fks = {n: f for n, f in t.fks.items() if what not in f.columns}
                t.checks = {n: c for n, c in t.checks.items() if what not in c.columns}
            elif kind == "CONSTRAINT":
                for store in (t.fks, t.uniques, t.checks, t.indexes):
                    store.pop(what, None)
                if t.pk and t.pk.name == what:
                    t.pk = None

    def _alter_column(self, t: DraftTable, action: exp.AlterColumn) -> None:
        name = ident(action.this)
        column = t.columns.get(name)
        if column is None:
            return
        if action.args.get("dtype") is not None:
            column = replace(column, type=pg_type(action.args["dtype"]))
        if action.args.get("allow_null") is not None:
            column = replace(column, not_null=not action.args["allow_null"])
        if action.args.get("drop") and action.args.get("default") is None and action.args.get("allow_null") is None:
            column = replace(column, default=None)
        if action.args.get("default") is not None:
            column = replace(column, default=sql_of(action.args["default"]))
        t.columns[name] = column

    def _rename_column(self, t: DraftTable, old: str, new: str) -> None:
        if old not in t.columns:
            return
        t.columns = {(new if k == old else k): (replace(c, name=new) if k == old else c) for k, c in t.columns.items()}

        def swap(cols: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if c == old else c if c.isidentifier() or c.startswith('"') else rename_column(c, old, new)
                         for c in cols)

        def text(sql: str | None) -> str | None:
            return rename_column(sql, old, new) if sql else sql

        t.indexes = {n: replace(i, keys=swap(i.keys), predicate=text(i.predicate)) for n, i in t.indexes.items()}
        t.uniques = {n: replace(u, columns=swap(u.columns)) for n, u in t.uniques.items()}
        t.fks = {n: replace(f, columns=swap(f.columns)) for n, f in t.fks.items()}
        t.checks = {n: replace(c, columns=swap(c.columns), expression=text(c.expression) or c.expression)
                    for n, c in t.checks.items()}
        for other in self.tables.values():  # foreign keys elsewhere that reference the renamed column
            other.fks = {n: (replace(f, ref_columns=swap(f.ref_columns)) if f.ref_table == self._key(t) else f)
                         for n, f in other.fks.items()}
        if t.pk:
            t.pk = replace(t.pk, columns=swap(t.pk.columns))

    def _comment(self, match: re.Match[str]) -> None:
        """COMMENT ON TABLE / COLUMN with a plain string literal (or NULL)."""
        kind, target, value = match.group(1).upper(), unquote(re.sub(r"\s*\.\s*", ".", match.group(2))), match.group(3)
        text = None if value.upper() == "NULL" else value[1:-1].replace("''", "'")
        table_name_, _, column = target.rpartition(".") if kind == "COLUMN" else (target, "", "")
        t = self.tables.get(unquote(table_name_) if kind == "COLUMN" else target)
        if t is None:
            return
        if kind == "TABLE":
            t.comment = text
        elif column in t.columns:
            t.columns[column] = replace(t.columns[column], comment=text)

    def _rename(self, r: Rename) -> None:
        if r.kind == "index":
            self._rename_index(r.old, r.new)
            return
        t = self.tables.get(r.on)
        if t is None:
            if self._current is not None:
                self._note(self._current, f"renames {r.kind} {r.old} of {r.on}, a table these migrations do not declare")
            return
        if r.kind == "table":
            self._rename_table(r.on, r.new if "." not in r.on else f"{r.on.rsplit('.', 1)[0]}.{r.new}")
        elif r.kind == "column":
            self._rename_column(t, r.old, r.new)
        else:
            self._rename_constraint(t, r.old, r.new)

    def _rename_index(self, old: str, new: str) -> None:
        """ALTER INDEX ... RENAME (an index backing a constraint renames the constraint too)."""
        short = old.split(".")[-1]
        t = self.tables.get(self.index_owner.get(short, ""))
        if t is None or short not in t.indexes:
            return
        index = t.indexes[short]
        if index.constraint:
            self._rename_constraint(t, index.constraint, new)
            return
        t.indexes = {(new if n == short else n): (replace(i, name=new) if n == short else i) for n, i in t.indexes.items()}
        self._moved(t, short, new)

    def _rename_constraint(self, t: DraftTable, old: str, new: str) -> None:
        if old in t.fks:
            t.fks[new] = replace(t.fks.pop(old), name=new)
        if old in t.uniques:
            t.uniques[new] = replace(t.uniques.pop(old), name=new)
        if old in t.checks:
            t.checks[new] = replace(t.checks.pop(old), name=new)
        if t.pk is not None and t.pk.name == old:
            t.pk = replace(t.pk, name=new)
        if old in t.indexes:
            index = t.indexes.pop(old)
            t.indexes[new] = replace(index, name=new, constraint=new if index.constraint else index.constraint)
        self._moved(t, old, new)

    def _moved(self, t: DraftTable, old: str, new: str) -> None:
        if self.index_owner.get(old) is not None:
            self.index_owner[new] = self.index_owner.pop(old)
        if f"{t.name}.{old}" in self.origins:
            self.origins[f"{t.name}.{new}"] = self.origins.pop(f"{t.name}.{old}")

    @staticmethod
    def _key(t: DraftTable) -> str:
        return t.name if t.schema == "public" else f"{t.schema}.{t.name}"

    def _rename_table(self, old: str, new: str) -> None:
        t = self.tables.pop(old)
        t.name = new.split(".")[-1]
        self.tables[new] = t
        self.created_in[new] = self.created_in.get(old, "")  # the old name keeps its entry: statements before used it
        for index in t.indexes:
            self.index_owner[index] = new
        for key in [k for k in self.origins if k.startswith(f"{old.split('.')[-1]}.")]:
            self.origins[f"{t.name}.{key.split('.', 1)[1]}"] = self.origins.pop(key)
        for other in self.tables.values():
            other.fks = {n: (replace(f, ref_table=new) if f.ref_table == old else f) for n, f in other.fks.items()}

    def _drop(self, node: exp.Drop) -> None:
        kind = str(node.args.get("kind", "")).upper()
        for target in node.args.get("tables") or []:
            name = table_name(target)
            if kind == "TABLE":
                self.tables.pop(name, None)
            elif kind == "INDEX":
                owner = self.tables.get(self.index_owner.get(name.split(".")[-1], ""))
                if owner is not None:
                    owner.indexes.pop(name.split(".")[-1], None)
