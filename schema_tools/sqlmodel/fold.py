"""Fold migration files, in order, into the schema they declare -- no database needed.

Read from PostgreSQL's own parse trees. Modelled: CREATE TABLE (columns, inline and table
constraints), CREATE INDEX, ALTER TABLE ADD/DROP/ALTER COLUMN, ADD/DROP/VALIDATE CONSTRAINT,
ADD ... USING INDEX, RENAME (table, column, constraint, index), DROP TABLE/INDEX, COMMENT ON
TABLE/COLUMN. Everything else is kept; statements that may change tables but are not modelled
(DO blocks, CALL, other ALTER TABLE forms...) are reported as ``not-modelled`` notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..catalog import Catalog, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, Table, Unique
from ..findings import Finding, Severity
from .parse import Parsed
from ..sql.printer import rename_column
from ..sql.tree import Node, body, column_refs, qualified, relation, strings, tag
from ..sql.typenames import SERIALS, type_text
from .renames import Rename, rename_of

ACTIONS = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
HARMLESS = {"AT_ChangeOwner", "AT_EnableRowSecurity", "AT_DisableRowSecurity", "AT_ForceRowSecurity",
            "AT_NoForceRowSecurity", "AT_SetStatistics", "AT_ClusterOn", "AT_DropCluster", "AT_EnableTrig",
            "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_DisableTrig", "AT_EnableTrigAll", "AT_DisableTrigAll",
            "AT_EnableTrigUser", "AT_DisableTrigUser", "AT_ReplicaIdentity", "AT_SetRelOptions", "AT_ResetRelOptions",
            "AT_SetOptions", "AT_ResetOptions", "AT_SetStorage", "AT_SetCompression", "AT_EnableRule",
            "AT_EnableAlwaysRule", "AT_EnableReplicaRule", "AT_DisableRule"}
"""ALTER TABLE subcommands that change nothing the model holds."""
MAY_CHANGE_TABLES = {"DoStmt", "CallStmt", "ExecuteStmt"}


NAMEDATALEN = 64  # PostgreSQL's names are at most NAMEDATALEN - 1 bytes
FIGURED = {"CoalesceExpr": "coalesce", "CaseExpr": "case", "A_ArrayExpr": "array"}


def default_name(name1: str, name2: str | None, label: str) -> str:
    """The name PostgreSQL makes for an unnamed constraint, index or sequence (makeObjectName):
    ``name1_name2_label``, the longer of name1 and name2 shortened first to fit 63 bytes."""
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    part1, part2 = name1, name2 or ""
    first, second = part1.encode(), part2.encode()
    keep1, keep2 = len(first), len(second)
    if keep1 + keep2 > NAMEDATALEN - 1 - overhead:  # else, the usual case: nothing to shorten
        while keep1 + keep2 > NAMEDATALEN - 1 - overhead:
            if keep1 > keep2:
                keep1 -= 1
            else:
                keep2 -= 1
        part1 = first[:keep1].decode(errors="ignore")  # never half a character (pg_mbcliplen)
        part2 = second[:keep2].decode(errors="ignore")
    return f"{part1}_{part2}_{label}" if name2 is not None else f"{part1}_{label}"


def name_addition(columns: list[str] | tuple[str, ...]) -> str:
    """The column part of a default name (ChooseIndexNameAddition): names joined by ``_``, stopped
    once 63 bytes are reached."""
    joined = b""
    for column in columns:
        joined += (b"_" if joined else b"") + column.encode()[:NAMEDATALEN - 1]
        if len(joined) >= NAMEDATALEN:
            break
    return joined.decode(errors="ignore")


def _figured(expression: Node) -> str:
    """The column name PostgreSQL figures for an index expression (FigureIndexColname)."""
    kind, fields = tag(expression), body(expression)
    if kind == "FuncCall":
        return (strings(fields.get("funcname")) or ["expr"])[-1]
    if kind == "ColumnRef":
        last = (fields.get("fields") or [None])[-1]
        return str(body(last, "String").get("sval", "expr"))
    if kind == "TypeCast":  # the operand's name, else the type's
        inner = _figured(fields.get("arg") or {})
        return inner if inner not in ("expr", "case") else (strings((fields.get("typeName") or {}).get("names")) or
                                                             ["expr"])[-1]
    if kind == "MinMaxExpr":
        return "greatest" if fields.get("op") == "IS_GREATEST" else "least"
    if kind == "A_Expr" and fields.get("kind") == "AEXPR_NULLIF":
        return "nullif"
    return FIGURED.get(kind, "expr")


def _index_column_names(elements: list[Node]) -> list[str]:
    """The names an unnamed index's default name is made of (ChooseIndexColumnNames): each key's
    column or figured name, a repeated one numbered."""
    names: list[str] = []
    for element in elements:
        original = element["name"] if "name" in element else _figured(element.get("expr") or {})
        name, n = original, 1
        while name in names:
            suffix = str(n)
            name = original.encode()[:NAMEDATALEN - 1 - len(suffix)].decode(errors="ignore") + suffix
            n += 1
        names.append(name)
    return names


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
        self.table_origins: dict[str, tuple[str, int]] = {}  # table -> (file, line) of its CREATE TABLE

    # --- queries -------------------------------------------------------------------------
    def catalog(self) -> Catalog:
        return Catalog({name: t.freeze() for name, t in self.tables.items()})

    # --- folding -------------------------------------------------------------------------
    def apply(self, p: Parsed) -> None:
        """Fold one statement in; never raises."""
        self._current = p
        kind, s = p.kind, p.fields
        if p.unread:
            self._note(p, "this statement could not be read: it is not modelled")
            return
        try:
            rename = rename_of(p.tree) if kind == "RenameStmt" else None
            if rename is not None:
                self._rename(rename)
            elif kind == "CreateStmt":
                self._create_table(s, p)
            elif kind == "CreateTableAsStmt" and body(s.get("into")).get("rel") and s.get("objtype") == "OBJECT_TABLE":
                self.created_in[relation(s["into"]["rel"])] = p.migration.id
                self.table_origins[relation(s["into"]["rel"])] = (p.file, p.statement.line)
                self._note(p, "CREATE TABLE ... AS is not modelled")
            elif kind == "IndexStmt":
                self._create_index(s)
            elif kind == "AlterTableStmt" and s.get("objtype") == "OBJECT_TABLE":
                self._alter(s, p)
            elif kind == "AlterTableStmt" and s.get("objtype") == "OBJECT_INDEX":
                if any(body(c).get("subtype") not in HARMLESS for c in s.get("cmds") or ()):
                    self._note(p, "this ALTER INDEX form is not modelled")
            elif kind == "DropStmt":
                self._drop(s)
            elif kind == "CommentStmt":
                self._comment(s)
            elif kind == "AlterObjectSchemaStmt" and s.get("objectType") == "OBJECT_TABLE":
                self._move_table(relation(s.get("relation")), s.get("newschema", ""))
            elif kind in MAY_CHANGE_TABLES:
                self._note(p, "this statement may change tables but is not modelled")
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:  # unexpected shapes
            self._note(p, f"not modelled ({type(exc).__name__})")

    def _note(self, p: Parsed, message: str) -> None:
        self.notes.append(Finding("not-modelled", message, Severity.NOTE, p.migration.id, "",
                                  p.file, p.statement.line, 1))

    def _expression(self, node: Node) -> str:
        assert self._current is not None  # set by apply before any expression is read
        return self._current.statement.expression(node)

    def _create_table(self, s: Node, p: Parsed) -> None:
        name = relation(s.get("relation"))
        self.created_in[name] = p.migration.id
        self.table_origins[name] = (p.file, p.statement.line)
        elements = [(tag(e), e) for e in s.get("tableElts") or ()]
        if s.get("partbound") or s.get("ofTypename") or any(kind == "TableLikeClause" for kind, _ in elements):
            self._note(p, "CREATE TABLE without a column list (LIKE / PARTITION OF / OF) is not modelled")
            return
        if name in self.tables and s.get("if_not_exists"):
            return
        t = self.tables[name] = DraftTable(s["relation"].get("schemaname") or "public", name.split(".")[-1])
        for kind, item in elements:
            if kind == "ColumnDef":
                self._add_column(t, body(item, kind))
        for kind, item in elements:
            if kind == "Constraint":
                self._add_constraint(t, body(item, kind))

    def _add_column(self, t: DraftTable, col: Node) -> None:
        name = col["colname"]
        type_name = col.get("typeName") or {}
        not_null, default, identity, generated = False, None, "", None
        names = strings(type_name.get("names"))
        if len(names) == 1 and names[0] in SERIALS:
            sequence = default_name(t.name, name, "seq")
            sequence = sequence if t.schema == "public" else f"{t.schema}.{sequence}"
            not_null, default = True, f"nextval('{sequence}'::regclass)"
        constraints = [body(c, "Constraint") for c in col.get("constraints") or ()]
        for c in constraints:
            contype = c.get("contype")
            if contype in ("CONSTR_NOTNULL", "CONSTR_PRIMARY"):
                not_null = True
            elif contype == "CONSTR_NULL":
                not_null = False
            elif contype == "CONSTR_DEFAULT":
                default = self._expression(c["raw_expr"])
            elif contype == "CONSTR_IDENTITY":
                identity, not_null = "always" if c.get("generated_when") == "a" else "by default", True
            elif contype == "CONSTR_GENERATED":
                generated = self._expression(c["raw_expr"])
        t.columns[name] = Column(name, type_text(type_name, names), not_null, default, identity, generated)
        for n, c in enumerate(constraints):
            contype = c.get("contype")
            if contype == "CONSTR_PRIMARY":
                self._primary_key(t, c.get("conname") or self._unused(t, None, "pkey"), (name,))
            elif contype == "CONSTR_UNIQUE":
                self._unique(t, c.get("conname") or self._unused(t, name, "key"), (name,))
            elif contype == "CONSTR_FOREIGN":
                attributes = set()  # DEFERRABLE / INITIALLY DEFERRED apply to the constraint right before them
                for following in constraints[n + 1:]:
                    if not str(following.get("contype", "")).startswith("CONSTR_ATTR_"):
                        break
                    attributes.add(following["contype"])
                deferrable = "CONSTR_ATTR_DEFERRABLE" in attributes or bool(c.get("deferrable"))
                deferred = "CONSTR_ATTR_DEFERRED" in attributes or bool(c.get("initdeferred"))
                self._foreign_key(t, c.get("conname") or self._unused(t, name, "fkey"), (name,), c, deferrable,
                                  deferred)
            elif contype == "CONSTR_CHECK":
                self._check(t, c.get("conname"), name, c, (name,))
        if self._current is not None:
            self.column_migration[(self._key(t), name)] = self._current.migration.id

    def _add_constraint(self, t: DraftTable, c: Node) -> None:
        contype, given = c.get("contype"), c.get("conname", "")
        keys = tuple(strings(c.get("keys")))
        if c.get("indexname"):
            self._using_index(t, given, contype == "CONSTR_PRIMARY", c["indexname"])
        elif contype == "CONSTR_PRIMARY":
            self._primary_key(t, given or self._unused(t, None, "pkey"), keys)
        elif contype == "CONSTR_UNIQUE":
            self._unique(t, given or self._unused(t, name_addition(keys), "key"), keys)
        elif contype == "CONSTR_FOREIGN":
            cols = tuple(strings(c.get("fk_attrs")))
            self._foreign_key(t, given or self._unused(t, name_addition(cols), "fkey"), cols, c, bool(c.get("deferrable")),
                              bool(c.get("initdeferred")))
        elif contype == "CONSTR_CHECK":
            used = tuple(sorted(set(column_refs(c.get("raw_expr"))) & set(t.columns)))
            self._check(t, given, used[0] if len(used) == 1 else None, c, used)

    def _unused(self, t: DraftTable, addition: str | None, label: str) -> str:
        """The default name PostgreSQL gives, numbered (label1, label2...) while it is taken by a
        relation (indexes: pkey, key, idx) or by a constraint of the table (fkey, check)."""
        name, n = default_name(t.name, addition, label), 1
        while self._taken(t, name, label in ("fkey", "check")):
            name, n = default_name(t.name, addition, f"{label}{n}"), n + 1
        return name

    def _taken(self, t: DraftTable, name: str, by_constraint: bool) -> bool:
        if by_constraint:
            return name in t.fks or name in t.checks or name in t.uniques or (t.pk is not None and t.pk.name == name)
        return name in self.index_owner or name in t.indexes or name in self.tables

    def _using_index(self, t: DraftTable, constraint: str, primary: bool, index: str) -> None:
        """ADD CONSTRAINT ... UNIQUE / PRIMARY KEY USING INDEX: the index becomes the constraint's."""
        if index not in t.indexes:
            return
        old = t.indexes.pop(index)
        constraint = constraint or index
        t.indexes[constraint] = replace(old, name=constraint, constraint=constraint, primary=primary)
        if primary:
            t.pk = PrimaryKey(constraint, old.keys)
        else:
            t.uniques[constraint] = Unique(constraint, old.keys)

    def _origin(self, t: DraftTable, name: str) -> None:
        if self._current is not None:
            self.origins[f"{t.name}.{name}"] = (self._current.file, self._current.statement.line)

    def origin(self, table: str, name: str) -> tuple[str, int] | None:
        """Where the files declare an index or constraint."""
        return self.origins.get(f"{table.split('.')[-1]}.{name}")

    def origin_of(self, obj: str) -> tuple[str, int] | None:
        """Where the files declare what a finding names: ``table.constraint``, ``schema.table.column``,
        an index, a table (a column: its table's CREATE TABLE); None when they never do."""
        parts = obj.split(".")
        found = self.origin(parts[-2], parts[-1]) if len(parts) > 1 else None
        owner = self.index_owner.get(parts[-1])
        found = found or (self.origin(owner, parts[-1]) if owner else None)
        for table in (obj, parts[-1], ".".join(parts[:-1]), parts[-2] if len(parts) > 1 else ""):
            found = found or self.table_origins.get(table)
        return found

    def _primary_key(self, t: DraftTable, name: str, cols: tuple[str, ...]) -> None:
        t.pk = PrimaryKey(name, cols)
        for col in cols:
            column = t.columns.get(col)
            if column is not None and not column.not_null:
                t.columns[col] = replace(column, not_null=True)
        self._index(t, Index(name, cols, unique=True, primary=True, constraint=name))

    def _unique(self, t: DraftTable, name: str, cols: tuple[str, ...]) -> None:
        t.uniques[name] = Unique(name, cols)
        self._index(t, Index(name, cols, unique=True, constraint=name))

    def _foreign_key(self, t: DraftTable, name: str, cols: tuple[str, ...], c: Node, deferrable: bool,
                     deferred: bool) -> None:
        ref_table = relation(c.get("pktable"))
        ref_cols = tuple(strings(c.get("pk_attrs")))
        if not ref_cols and ref_table in self.tables and self.tables[ref_table].pk:
            ref_cols = self.tables[ref_table].pk.columns  # type: ignore[union-attr]
        self._origin(t, name)
        t.fks[name] = ForeignKey(name, cols, ref_table, ref_cols, ACTIONS.get(c.get("fk_del_action", "a"), "no action"),
                                 ACTIONS.get(c.get("fk_upd_action", "a"), "no action"), deferrable, deferred,
                                 not c.get("skip_validation"))

    def _check(self, t: DraftTable, given: str | None, column: str | None, c: Node, cols: tuple[str, ...]) -> None:
        """A CHECK, named as given or as PostgreSQL names it: t_col_check, numbered on a clash
        (t_check, t_check1, ...)."""
        name = given or self._unused(t, column, "check")
        t.checks[name] = CheckConstraint(name, self._expression(c["raw_expr"]), cols, not c.get("skip_validation"))

    def _index(self, t: DraftTable, index: Index) -> None:
        self._origin(t, index.name)
        t.indexes[index.name] = index
        self.index_owner[index.name] = f"{t.schema}.{t.name}" if t.schema != "public" else t.name

    def _create_index(self, s: Node) -> None:
        t = self.tables.get(relation(s.get("relation")))
        if t is None:
            return
        elements = [body(e, "IndexElem") for e in s.get("indexParams") or ()]
        keys = [e["name"] if "name" in e else self._expression(e["expr"]) for e in elements]  # no opclass, no order
        name = s.get("idxname")
        if not name:  # as PostgreSQL names it, numbered when the name is taken in the schema
            addition = name_addition(_index_column_names(elements + [body(e, "IndexElem")
                                                                     for e in s.get("indexIncludingParams") or ()]))
            name = self._unused(t, addition, "idx")
        where = s.get("whereClause")
        self._index(t, Index(name, tuple(keys), bool(s.get("unique")), False, s.get("accessMethod") or "btree",
                             self._expression(where) if where is not None else None))

    def _alter(self, s: Node, p: Parsed) -> None:
        t = self.tables.get(relation(s.get("relation")))
        if t is None:
            return
        for command in s.get("cmds") or ():
            cmd = body(command, "AlterTableCmd")
            subtype, name, definition = cmd.get("subtype"), cmd.get("name", ""), cmd.get("def")
            if subtype == "AT_AddColumn":
                if not (cmd.get("missing_ok") and body(definition).get("colname") in t.columns):
                    self._add_column(t, body(definition))
            elif subtype == "AT_AddConstraint":
                self._add_constraint(t, body(definition))
            elif subtype == "AT_DropColumn":
                self._drop_column(t, name)
            elif subtype == "AT_DropConstraint":
                self._drop_constraint(t, name)
            elif subtype == "AT_ValidateConstraint":
                if name in t.fks:
                    t.fks[name] = replace(t.fks[name], validated=True)
                if name in t.checks:
                    t.checks[name] = replace(t.checks[name], validated=True)
            elif subtype in ("AT_AlterColumnType", "AT_ColumnDefault", "AT_SetNotNull", "AT_DropNotNull",
                             "AT_AddIdentity", "AT_SetIdentity", "AT_DropIdentity", "AT_DropExpression"):
                self._alter_column(t, subtype, name, definition)
            elif subtype == "AT_AlterConstraint":
                self._alter_constraint(t, body(definition, "ATAlterConstraint"))
            elif subtype not in HARMLESS:
                self._note(p, f"this ALTER TABLE form ({str(subtype).removeprefix('AT_')}) is not modelled")

    @staticmethod
    def _alter_constraint(t: DraftTable, change: Node) -> None:
        """ALTER CONSTRAINT ... [NOT] DEFERRABLE [INITIALLY DEFERRED] (of a foreign key)."""
        name = change.get("conname", "")
        if change.get("alterDeferrability") and name in t.fks:
            t.fks[name] = replace(t.fks[name], deferrable=bool(change.get("deferrable")),
                                  deferred=bool(change.get("initdeferred")))

    def _drop_column(self, t: DraftTable, what: str) -> None:
        t.columns.pop(what, None)
        t.indexes = {n: i for n, i in t.indexes.items() if what not in i.keys}
        t.uniques = {n: u for n, u in t.uniques.items() if what not in u.columns}
        t.fks = {n: f for n, f in t.fks.items() if what not in f.columns}
        t.checks = {n: c for n, c in t.checks.items() if what not in c.columns}
        if t.pk and what in t.pk.columns:
            t.pk = None

    @staticmethod
    def _drop_constraint(t: DraftTable, what: str) -> None:
        for store in (t.fks, t.uniques, t.checks, t.indexes):
            store.pop(what, None)
        if t.pk and t.pk.name == what:
            t.pk = None

    def _alter_column(self, t: DraftTable, subtype: str, name: str, definition: Node | None) -> None:
        column = t.columns.get(name)
        if column is None:
            return
        if subtype == "AT_AlterColumnType":
            column = replace(column, type=type_text(body(definition).get("typeName")))
        elif subtype == "AT_SetNotNull":
            column = replace(column, not_null=True)
        elif subtype == "AT_DropNotNull":
            column = replace(column, not_null=False)
        elif subtype == "AT_AddIdentity":
            always = body(definition, "Constraint").get("generated_when") == "a"
            column = replace(column, identity="always" if always else "by default", not_null=True)
        elif subtype == "AT_SetIdentity":  # SET GENERATED ALWAYS / BY DEFAULT (and sequence options)
            for option in body(definition, "List").get("items") or ():
                if body(option, "DefElem").get("defname") == "generated":
                    always = body(body(option, "DefElem").get("arg"), "Integer").get("ival") == ord("a")
                    column = replace(column, identity="always" if always else "by default")
        elif subtype == "AT_DropIdentity":
            column = replace(column, identity="")
        elif subtype == "AT_DropExpression":
            column = replace(column, generated=None)
        else:  # SET DEFAULT, or DROP DEFAULT without an expression
            column = replace(column, default=self._expression(definition) if definition is not None else None)
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

    def _comment(self, c: Node) -> None:
        """COMMENT ON TABLE / COLUMN (a string or NULL)."""
        names, text = strings(c.get("object")), c.get("comment")
        if c.get("objtype") == "OBJECT_TABLE":
            t = self.tables.get(qualified(names))
            if t is not None:
                t.comment = text
        elif c.get("objtype") == "OBJECT_COLUMN" and len(names) >= 2:
            t = self.tables.get(qualified(names[:-1]))
            if t is not None and names[-1] in t.columns:
                t.columns[names[-1]] = replace(t.columns[names[-1]], comment=text)

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
        if old in self.table_origins:
            self.table_origins[new] = self.table_origins[old]
        for index in t.indexes:
            self.index_owner[index] = new
        for key in [k for k in self.origins if k.startswith(f"{old.split('.')[-1]}.")]:
            self.origins[f"{t.name}.{key.split('.', 1)[1]}"] = self.origins.pop(key)
        for other in self.tables.values():
            other.fks = {n: (replace(f, ref_table=new) if f.ref_table == old else f) for n, f in other.fks.items()}

    def _move_table(self, old: str, schema: str) -> None:
        """ALTER TABLE ... SET SCHEMA: the table moves, with its indexes, constraints and the
        sequences its serial columns own."""
        t = self.tables.get(old)
        if t is None or not schema:
            return
        self._rename_table(old, t.name if schema == "public" else f"{schema}.{t.name}")
        t.schema = schema
        for name, column in t.columns.items():
            sequence = default_name(t.name, name, "seq")
            if column.default and column.default.endswith(f"{sequence}'::regclass)"):
                moved = sequence if schema == "public" else f"{schema}.{sequence}"
                t.columns[name] = replace(column, default=f"nextval('{moved}'::regclass)")

    def _drop(self, s: Node) -> None:
        kind = s.get("removeType")
        for target in s.get("objects") or ():
            name = qualified(strings(target))
            if kind == "OBJECT_TABLE":
                dropped = self.tables.pop(name, None)
                for index in dropped.indexes if dropped is not None else ():
                    self.index_owner.pop(index, None)  # its names are free again
            elif kind == "OBJECT_INDEX":
                owner = self.tables.get(self.index_owner.get(name.split(".")[-1], ""))
                if owner is not None:
                    owner.indexes.pop(name.split(".")[-1], None)
