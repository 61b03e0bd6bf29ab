"""Check expectations and invariants against a catalog: pure, one pass, one Check per fact."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..catalog import Catalog, Table
from ..sql.identifiers import literal, quote
from ..sql.meaning import same
from ..sql.typenames import normal_type
from ..errors import ConfigError
from ..findings import Check, Finding, Report
from ..invariants import INVARIANTS, NAMES
from .model import ColumnSpec, ForeignKeySpec, IndexSpec, TableExpectation

RULE_FIX = {
    "table": "create it in a migration, or fix the table name",
    "column": "change the column in a new migration, or fix the expectation",
    "only-columns": "drop the extra columns in a migration, or add them to the expectation",
    "primary-key": "change the primary key in a new migration",
    "unique": "add the unique constraint in a new migration (a unique index built CONCURRENTLY, then USING INDEX)",
    "indexed": "CREATE INDEX CONCURRENTLY on those columns in a new migration",
    "foreign-key": "drop and re-add the foreign key in a new migration (NOT VALID, then VALIDATE)",
    "allowed-values": "replace the CHECK in a new migration (NOT VALID, then VALIDATE)",
    "index": "rebuild the index in a new migration (CREATE INDEX CONCURRENTLY, then drop the old one)",
    "triggers": "create or drop the triggers in a new migration, or fix the expectation",
    "check": "add the CHECK in a new migration (NOT VALID, then VALIDATE CONSTRAINT)",
    "comment": "set it in a new migration (COMMENT ON TABLE ... IS '...')",
}
RULE_HELP = {
    "table": "the expected table exists",
    "column": "the expected column exists with its type, nullability and default",
    "only-columns": "the table has no columns beyond the expected ones",
    "primary-key": "the primary key is on the expected columns",
    "unique": "a unique constraint or unique index covers exactly the expected columns",
    "indexed": "a valid, non-partial index leads with the expected columns, in that order",
    "foreign-key": "the expected foreign key exists with its actions",
    "allowed-values": "a CHECK restricts the column to exactly the expected values",
    "index": "the named index exists with the expected shape",
    "triggers": "the table has exactly the expected triggers, all enabled",
    "check": "a validated CHECK constraint states the expected expression (compared by meaning)",
    "comment": "the table's comment is exactly the expected text",
}


class _Checker:
    """Turns one table's expectation into Checks."""

    def __init__(self, exp: TableExpectation, table: Table | None):
        self.exp, self.table = exp, table
        self.group = f"{exp.label}: {exp.table}" if exp.label else exp.table
        self.checks: list[Check] = []

    @property
    def sql_table(self) -> str:
        """The table's name as SQL, for the statements hints suggest."""
        return self.table.sql if self.table is not None else quote(self.exp.table)

    def add(self, name: str, rule: str, problem: str | None, obj: str, hint: str | Callable[[], str] = "",
            key: str = "") -> None:
        """One check; ``hint`` (or what makes it, called only for a finding) says how to fix a problem."""
        if self.table is None and rule != "table":  # one error says the table is missing; the rest cannot tell
            self.checks.append(Check(name, self.group, skipped=f"table {self.exp.table} does not exist"))
            return
        if not problem:
            self.checks.append(Check(name, self.group, ()))
            return
        text = hint() if callable(hint) else hint
        line = self.exp.lines.get(key, self.exp.line)
        finding = Finding(rule, problem, object=obj, hint=text or RULE_FIX[rule], file=self.exp.source, line=line)
        self.checks.append(Check(name, self.group, (finding,)))

    def run(self) -> list[Check]:
        exp, t = self.exp, self.exp.table
        self.add(f"{t} exists", "table", None if self.table else f"table {t} does not exist", t,
                 "create it in a migration, or fix the table name")
        for column in exp.columns:
            self.add(f"{t}.{column.name}" + (f" {column.type}" if column.type else ""), "column",
                     self._column(column), f"{t}.{column.name}", key="columns")
        if exp.only_columns:
            extra = sorted({c.name for c in self.table.columns} - {c.name for c in exp.columns}) if self.table else []
            self.add(f"{t} has no other columns", "only-columns",
                     f"{t} has columns beyond the expected: {', '.join(extra)}" if extra else None, t,
                     "drop them or add them to the expectations", key="only_columns")
        if exp.primary_key is not None:
            self.add(f"{t} PRIMARY KEY ({', '.join(exp.primary_key)})", "primary-key", self._primary_key(), t,
                     key="primary_key")
        for cols in exp.unique:
            self.add(f"{t} UNIQUE ({', '.join(cols)})", "unique", self._unique(cols), f"{t}({', '.join(cols)})",
                     lambda: f"ALTER TABLE {self.sql_table} ADD UNIQUE ({', '.join(map(quote, cols))});", key="unique")  # noqa: B023 (add() calls it at once)
        for cols in exp.indexed:
            self.add(f"{t} indexed on ({', '.join(cols)})", "indexed", self._indexed(cols), f"{t}({', '.join(cols)})",
                     lambda: f"CREATE INDEX CONCURRENTLY ON {self.sql_table} ({', '.join(map(quote, cols))});",  # noqa: B023 (add() calls it at once)
                     key="indexed")
        for fk in exp.foreign_keys:
            self.add(f"{t} FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.ref_table}({', '.join(fk.ref_columns)})",
                     "foreign-key", self._foreign_key(fk), f"{t}({', '.join(fk.columns)})", key="foreign_keys")
        for name, values in exp.allowed_values.items():
            self.add(f"{t}.{name} IN ({', '.join(values)})", "allowed-values", self._allowed(name, values),
                     f"{t}.{name}", lambda: f"ALTER TABLE {self.sql_table} ADD CONSTRAINT ... CHECK ({quote(name)} IN "  # noqa: B023 (add() calls it at once)
                     f"({', '.join(literal(v) for v in values)}))",  # noqa: B023 (add() calls it at once)
                     key="allowed_values")
        for index in exp.indexes:
            self.add(f"index {index.name}", "index", self._index(index), index.name, key="indexes")
        for expression in exp.checks:
            self.add(f"{t} CHECK ({expression})", "check", self._check(expression), t,
                     lambda: f"ALTER TABLE {self.sql_table} ADD CHECK ({expression}) NOT VALID; then VALIDATE CONSTRAINT",  # noqa: B023 (add() calls it at once)
                     key="checks")
        if exp.comment is not None:
            actual = self.table.comment if self.table is not None else None
            self.add(f"{t} comment", "comment", None if actual == exp.comment else
                     f"{t}'s comment is {actual!r}, expected {exp.comment!r}" if actual else f"{t} has no comment",
                     t, key="comment")
        if exp.triggers is not None:
            self.add(f"{t} triggers: {', '.join(exp.triggers) or 'none'}", "triggers", self._triggers(exp.triggers), t,
                     key="triggers")
        return self.checks

    def _check(self, expression: str) -> str | None:
        if self.table is None:  # add() reports it as not checked
            return None
        found = [c for c in self.table.checks if same(c.expression, expression)]
        if not found:
            return f"no CHECK ({expression}) on {self.exp.table}"
        if not any(c.validated for c in found):
            return f"CHECK ({expression}) on {self.exp.table} is NOT VALID: existing rows were never checked"
        return None

    def _triggers(self, expected: tuple[str, ...]) -> str | None:
        if self.table is None:
            return None
        triggers = self.table.attached_of("trigger")
        extra = sorted(t.name for t in triggers if t.name not in expected)
        missing = sorted(set(expected) - {t.name for t in triggers})
        disabled = sorted(t.name for t in triggers if t.name in expected and not t.enabled)
        parts = ([f"unexpected trigger {', '.join(extra)}"] if extra else []) + \
                ([f"missing trigger {', '.join(missing)}"] if missing else []) + \
                ([f"disabled trigger {', '.join(disabled)}"] if disabled else [])
        return f"{self.exp.table}: " + "; ".join(parts) if parts else None

    def _column(self, spec: ColumnSpec) -> str | None:
        if self.table is None:
            return None
        col = self.table.column(spec.name)
        if col is None:
            return f"column {self.exp.table}.{spec.name} does not exist"
        problems = []
        if spec.type and normal_type(col.type) not in {normal_type(t) for t in spec.type.split("|")}:
            problems.append(f"is {col.type}, expected {' or '.join(normal_type(t) for t in spec.type.split('|'))}")
        if spec.not_null is not None and spec.not_null != col.not_null:
            problems.append("is nullable, expected NOT NULL" if spec.not_null else "is NOT NULL, expected nullable")
        if spec.default is not None and not same(spec.default, col.default):
            problems.append(f"defaults to {col.default or 'nothing'}, expected {spec.default}")
        if spec.identity is not None and spec.identity != bool(col.identity):
            problems.append("is not an identity column" if spec.identity else "is an identity column")
        if spec.comment is not None and spec.comment != col.comment:
            problems.append(f"has the comment {col.comment!r}, expected {spec.comment!r}" if col.comment else
                            f"has no comment, expected {spec.comment!r}")
        return f"column {self.exp.table}.{spec.name} " + "; ".join(problems) if problems else None

    def _primary_key(self) -> str | None:
        if self.table is None:
            return None
        pk = self.table.primary_key
        if pk is None:
            return f"{self.exp.table} has no primary key"
        if pk.columns != self.exp.primary_key:
            return f"{self.exp.table}'s primary key is ({', '.join(pk.columns)}), expected ({', '.join(self.exp.primary_key or ())})"
        return None

    def _unique(self, cols: tuple[str, ...]) -> str | None:
        if self.table is None or self.table.is_unique_on(cols):
            return None
        return f"nothing makes ({', '.join(cols)}) unique on {self.exp.table}"

    def _indexed(self, cols: tuple[str, ...]) -> str | None:
        if self.table is None or self.table.is_indexed_on(cols):
            return None
        partial = [i.name for i in self.table.indexes_leading_with(cols) if i.predicate or not i.valid]
        extra = f" (only {', '.join(partial)}, which is partial or invalid)" if partial else ""
        return f"no valid index on {self.exp.table} leads with ({', '.join(cols)}){extra}"

    def _foreign_key(self, spec: ForeignKeySpec) -> str | None:
        if self.table is None:
            return None
        matches = [fk for fk in self.table.foreign_keys if fk.columns == spec.columns]
        if not matches:
            return f"no foreign key on {self.exp.table}({', '.join(spec.columns)})"
        fk = matches[0]
        problems = []
        if fk.ref_table != spec.ref_table.removeprefix("public.") or fk.ref_columns != spec.ref_columns:
            problems.append(f"references {fk.ref_table}({', '.join(fk.ref_columns)})")
        for attr in ("on_delete", "on_update"):
            wanted = getattr(spec, attr)
            if wanted is not None and wanted != getattr(fk, attr):
                problems.append(f"{attr.replace('_', ' ').upper()} {getattr(fk, attr).upper()}, expected {wanted.upper()}")
        if spec.deferrable is not None and spec.deferrable != fk.deferrable:
            problems.append("is not deferrable" if spec.deferrable else "is deferrable")
        return f"foreign key {fk.name} " + "; ".join(problems) if problems else None

    def _allowed(self, column: str, values: tuple[str, ...]) -> str | None:
        if self.table is None:
            return None
        if self.table.column(column) is None:
            return f"column {self.exp.table}.{column} does not exist"
        actual = self.table.allowed_values(column)
        if actual is None:
            return f"no CHECK restricts {self.exp.table}.{column} to a set of values"
        if set(actual) != set(values):
            missing, extra = sorted(set(values) - set(actual)), sorted(set(actual) - set(values))
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"also allows {', '.join(extra)}"] if extra else [])
            return f"{self.exp.table}.{column} allows ({', '.join(actual)}): " + "; ".join(parts)
        return None

    def _index(self, spec: IndexSpec) -> str | None:
        if self.table is None:
            return None
        index = next((i for i in self.table.indexes if i.name == spec.name), None)
        if index is None:
            return f"index {spec.name} does not exist on {self.exp.table}"
        problems = []
        if spec.keys is not None and (len(spec.keys) != len(index.keys)
                                      or not all(same(a, b) for a, b in zip(spec.keys, index.keys))):
            problems.append(f"is on ({', '.join(index.keys)})")
        if spec.unique is not None and spec.unique != index.unique:
            problems.append("is unique" if index.unique else "is not unique")
        if spec.method is not None and spec.method.lower() != index.method:
            problems.append(f"uses {index.method}")
        if spec.where is not None and not same(spec.where, index.predicate):
            problems.append(f"has WHERE {index.predicate}" if index.predicate else "is not partial")
        if not index.valid:
            problems.append("is INVALID")
        return f"index {spec.name} " + ", ".join(problems) if problems else None


def check_invariants(catalog: Catalog, disabled: Iterable[str] = ()) -> list[Check]:
    """One Check per enabled invariant that holds; one per table where it does not (grouped by table)."""
    off = set(disabled)
    unknown = off - set(NAMES)
    if unknown:
        raise ConfigError(f"unknown invariant {sorted(unknown)[0]!r} in [tool.schema_tools.verify] disable",
                          hint=f"known invariants: {', '.join(NAMES)}")
    checks = []
    for m in INVARIANTS:
        if m.NAME in off:
            continue
        failing = [(name, m.check(Catalog({name: table}))) for name, table in catalog.tables.items()]
        failing = [(name, found) for name, found in failing if found]
        # a finding goes under its table, like the expectations' findings; a clean invariant is one check
        checks += [Check(f"{m.NAME}: {name}", name, tuple(found)) for name, found in failing] or \
            [Check(m.NAME, "invariants")]
    return checks


def check_catalog(catalog: Catalog, expectations: Sequence[TableExpectation], disabled: Iterable[str] = (),
           invariants: bool = True) -> Report:
    """Every expectation and (unless ``invariants`` is False) every enabled invariant."""
    checks: list[Check] = []
    for exp in expectations:
        checks += _Checker(exp, catalog.table(exp.table)).run()
    if invariants:
        checks += check_invariants(catalog, disabled)
    help_ = dict(RULE_HELP) | {m.NAME: m.HELP for m in INVARIANTS}
    return Report("verify", tuple(checks), help_)
