"""Which data checks to run: derived from the expectations and the live catalog (what should
hold but the database does not enforce), plus a project's checks file."""

from __future__ import annotations

import math

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psycopg import sql

from ..catalog import Catalog, Table
from ..errors import ConfigError
from ..expect.model import TableExpectation
from ..sql.fragments import not_one_expression
from ..sql.identifiers import quote
from ..tomlspec import Doc, Field, Invalid, Spec, one_of, read_toml, string, strings
from ..findings import Severity
from .model import DUPLICATES, ROWS, DataCheck, Reference, col

REFERENCE = re.compile(r"^\s*([\w.]+)\s*\(\s*([\w\s,]+)\)\s*$")


def _enforced_unique(table: Table, cols: tuple[str, ...]) -> bool:
    """A primary key, unique constraint or complete valid unique index on some of the columns
    makes the whole key unique: no need to read the rows."""
    wanted = set(cols)
    keys = [u.columns for u in table.uniques] + [i.keys for i in table.indexes
                                                  if i.unique and i.valid and i.predicate is None]
    if table.primary_key is not None:
        keys.append(table.primary_key.columns)
    return any(set(k) <= wanted for k in keys)


def _validated_set(table: Table, column: str, values: tuple[str, ...]) -> bool:
    allowed = table.allowed_values(column, validated_only=True)
    return allowed is not None and set(allowed) <= set(values)


def from_expectations(catalog: Catalog, expectations: Sequence[TableExpectation]) -> list[DataCheck]:
    """What the expectations promise but the database does not enforce."""
    checks: list[DataCheck] = []
    for exp in expectations:
        table = catalog.table(exp.table)
        if table is None:
            continue
        for cols in exp.unique:
            if not _enforced_unique(table, cols) and all(table.column(c) for c in cols):
                checks.append(DataCheck(f"{exp.table}({', '.join(cols)}) unique", "duplicates", table, DUPLICATES,
                                        "remove or merge the duplicates, then add the unique constraint", columns=cols))
        for spec in exp.columns:
            column = table.column(spec.name)
            if spec.not_null and column is not None and not column.not_null:
                checks.append(DataCheck(f"{exp.table}.{spec.name} not null", "nulls", table, ROWS,
                                        "fill the NULLs, then SET NOT NULL", predicate=sql.SQL("{} IS NULL").format(col(spec.name))))
        for name, values in exp.allowed_values.items():
            if table.column(name) is not None and not _validated_set(table, name, values):
                checks.append(DataCheck(f"{exp.table}.{name} in ({', '.join(values)})", "allowed-values", table, ROWS,
                                        "fix the values, then add the CHECK",
                                        predicate=sql.SQL("{0} IS NOT NULL AND {0}::text <> ALL({1})").format(
                                            col(name), sql.Literal(list(values)))))
        for fk in exp.foreign_keys:
            parent = catalog.table(fk.ref_table)
            live = next((f for f in table.foreign_keys if f.columns == fk.columns), None)
            if parent is not None and live is None:  # a NOT VALID one is checked by from_catalog
                checks.append(DataCheck(f"{exp.table}({', '.join(fk.columns)}) -> {fk.ref_table}", "orphans", table, ROWS,
                                        "delete or repair the orphans, then add (or VALIDATE) the foreign key",
                                        reference=Reference(fk.columns, parent, fk.ref_columns)))
    return checks


def from_catalog(catalog: Catalog) -> list[DataCheck]:
    """NOT VALID constraints (old rows unchecked) and tenant consistency along foreign keys."""
    checks: list[DataCheck] = []
    for table in catalog.tables.values():
        for fk in table.foreign_keys:
            parent = catalog.table(fk.ref_table)
            if parent is None:
                continue
            if not fk.validated:
                checks.append(DataCheck(f"{fk.name} (NOT VALID)", "orphans", table, ROWS,
                                        f"repair the orphans, then ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(fk.name)}",
                                        reference=Reference(fk.columns, parent, fk.ref_columns)))
            if (table.column("tenant_id") and parent.column("tenant_id") and "tenant_id" not in fk.columns
                    and len(fk.columns) == 1):
                match = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(col(r, "p"), col(c))
                                              for c, r in zip(fk.columns, fk.ref_columns))
                checks.append(DataCheck(
                    f"{table.display}.{fk.columns[0]} belongs to the row's tenant", "tenant-consistency", table, ROWS,
                    f"a {table.display} row refers to a {parent.display} row of another tenant: fix tenant_id or the reference",
                    predicate=sql.SQL("EXISTS (SELECT 1 FROM {} p WHERE {} AND p.tenant_id IS DISTINCT FROM c.tenant_id)")
                    .format(sql.Identifier(parent.schema, parent.name), match)))
        for check in table.checks:
            if not check.validated:
                checks.append(DataCheck(f"{check.name} (NOT VALID)", "check", table, ROWS,
                                        f"fix the rows, then ALTER TABLE {table.sql} VALIDATE CONSTRAINT {quote(check.name)}",
                                        predicate=sql.SQL("NOT ({})").format(sql.SQL(check.expression))))
    return checks


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid("must be a number (or a string the column's type reads, e.g. a date)")
    if (isinstance(value, float) and not math.isfinite(value)) or \
            (isinstance(value, str) and value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")):
        raise Invalid("must be a finite number (NaN and infinity compare in ways that flag every row, or none)")
    return value


SEVERITY = Field(one_of("error", "warning"), "error (default) or warning", "error")
NAME = Field(string, "what the finding is called", "")
CHECKS: dict[str, Spec] = {
    "orphans": {"name": NAME, "column": Field(string, '"table.column"', required=True),
                "references": Field(string, '"parent(column)"', required=True), "severity": SEVERITY},
    "membership": {"name": NAME, "table": Field(string, required=True), "columns": Field(strings, required=True),
                   "in": Field(string, '"parent(column, ...)"', required=True), "severity": SEVERITY},
    "rows": {"name": NAME, "table": Field(string, required=True),
             "where": Field(string, "a predicate marking a bad row", required=True), "severity": SEVERITY,
             "hint": Field(string, "how to fix the rows", "fix the rows")},
    "ranges": {"name": NAME, "column": Field(string, '"table.column"', required=True), "min": Field(_number),
               "max": Field(_number), "severity": SEVERITY},
    "unique": {"name": NAME, "table": Field(string, required=True), "columns": Field(strings, required=True),
               "severity": SEVERITY},
}


class _Entry:
    """One ``[[section]]`` entry of a checks file, read against the catalog."""

    def __init__(self, doc: Doc, section: str, index: int, catalog: Catalog) -> None:
        self.doc, self.keys, self.catalog = doc, (section, index), catalog
        self.values = doc.table(self.keys, CHECKS[section], label=f"[[{section}]] #{index + 1}",
                                hint=f"sections: {', '.join(CHECKS)}")
        self.severity = Severity.WARNING if self.values["severity"] == "warning" else Severity.ERROR

    def fail(self, key: str, message: str, hint: str = "") -> ConfigError:
        return self.doc.error((*self.keys, key), f"[[{self.keys[0]}]] #{int(self.keys[1]) + 1}: {message}", hint)

    def table(self, key: str = "table") -> Table:
        table = self.catalog.table(self.values[key])
        if table is None:
            raise self.fail(key, f"table {self.values[key]!r} does not exist", "name a table of the database")
        return table

    def column(self, key: str = "column") -> tuple[Table, str]:
        table_name, _, column = self.values[key].rpartition(".")
        table = self.catalog.table(table_name)
        if table is None or table.column(column) is None:
            raise self.fail(key, f"column {self.values[key]!r} does not exist", 'write "table.column"')
        return table, column

    def reference(self, key: str) -> tuple[Table, tuple[str, ...]]:
        match = REFERENCE.match(self.values[key])
        if not match:
            raise self.fail(key, f"{self.values[key]!r} is not table(column, ...)", 'write "api_keys(id)"')
        table = self.catalog.table(match.group(1))
        if table is None:
            raise self.fail(key, f"table {match.group(1)} does not exist", "name a table of the database")
        return table, tuple(c.strip() for c in match.group(2).split(","))


def from_checks_file(path: Path, catalog: Catalog) -> list[DataCheck]:
    """A project's own checks (TOML): orphans, membership, rows, ranges, unique."""
    doc = read_toml(path, what="checks file", hint="check --checks or [tool.schema_tools.integrity] checks")
    checks: list[DataCheck] = []
    for section, entries in doc.data.items():
        if section not in CHECKS or not isinstance(entries, list):
            raise doc.error((section,), f"unknown section [[{section}]]", hint=f"sections: {', '.join(CHECKS)}")
        checks += [_check(section, _Entry(doc, section, index, catalog)) for index in range(len(entries))]
    return checks


def _check(section: str, entry: _Entry) -> DataCheck:
    name, severity, values = entry.values["name"], entry.severity, entry.values
    if section == "orphans":
        table, column = entry.column()
        parent, refs = entry.reference("references")
        return DataCheck(name or f"{table.display}.{column} -> {parent.display}", "orphans", table, ROWS,
                         "delete or repair the orphans, then add a foreign key", severity,
                         reference=Reference((column,), parent, refs))
    if section == "membership":
        member = entry.table()
        parent, refs = entry.reference("in")
        cols = values["columns"]
        if len(cols) != len(refs) or not cols:
            raise entry.fail("columns", "columns and in must list as many columns",
                             'write columns = ["tenant_id", "user_id"], in = "tenant_users(tenant_id, user_id)"')
        match = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(col(r, "p"), col(c)) for c, r in zip(cols, refs))
        return DataCheck(name or f"{member.display}({', '.join(cols)}) in {parent.display}", "membership", member, ROWS,
                         "add the missing membership or fix the row", severity,
                         predicate=sql.SQL("NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
                             sql.Identifier(parent.schema, parent.name), match))
    if section == "rows":
        target = entry.table()
        problem = not_one_expression(values["where"])
        if problem:
            raise entry.fail("where", f"where must be one SQL expression ({problem})",
                             'write where = "amount < 0" (a condition on the table\'s columns, nothing else)')
        return DataCheck(name or f"{target.display} where {values['where']}", "rows", target, ROWS, values["hint"],
                         severity, predicate=sql.SQL("({})").format(sql.SQL(values["where"])),  # the project's own SQL
                         source=values["where"])
    if section == "ranges":
        table, column = entry.column()
        parts = [sql.SQL("{} < {}").format(col(column), sql.Literal(values[k])) if k == "min" else
                 sql.SQL("{} > {}").format(col(column), sql.Literal(values[k])) for k in ("min", "max")
                 if values[k] is not None]
        if not parts:
            raise entry.fail("column", "give min and/or max", "write min = 0 (and/or max = ...)")
        return DataCheck(name or f"{table.display}.{column} in range", "range", table, ROWS,
                         "fix the out-of-range values", severity, predicate=sql.SQL(" OR ").join(parts))
    keyed = entry.table()
    cols = values["columns"]
    if not cols:
        raise entry.fail("columns", "columns must name at least one column", 'write columns = ["a", "b"]')
    return DataCheck(name or f"{keyed.display}({', '.join(cols)}) unique", "duplicates", keyed, DUPLICATES,
                     "remove or merge the duplicates", severity, columns=cols)
