"""Which data checks to run: derived from the expectations and the live catalog (what should
hold but the database does not enforce), plus a project's checks file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from psycopg import sql

from ..catalog import Catalog, Table
from ..errors import ConfigError
from ..expect.model import TableExpectation
from ..expect.parse import load_toml
from ..findings import Severity
from .model import DUPLICATES, ROWS, DataCheck, Reference, col

CHECKS_KEYS = {"orphans": ("name", "column", "references", "severity"),
               "membership": ("name", "table", "columns", "in", "severity"),
               "rows": ("name", "table", "where", "severity", "hint"),
               "ranges": ("name", "column", "min", "max", "severity"),
               "unique": ("name", "table", "columns", "severity")}
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
                                        f"repair the orphans, then ALTER TABLE {table.display} VALIDATE CONSTRAINT {fk.name}",
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
                                        f"fix the rows, then ALTER TABLE {table.display} VALIDATE CONSTRAINT {check.name}",
                                        predicate=sql.SQL("NOT ({})").format(sql.SQL(check.expression))))
    return checks


def _reference(text: Any, catalog: Catalog, where: str) -> tuple[Table, tuple[str, ...]]:
    match = REFERENCE.match(str(text))
    if not match:
        raise ConfigError(f"{where}: {text!r} is not table(column, ...)", hint='write "api_keys(id)"')
    table = catalog.table(match.group(1))
    if table is None:
        raise ConfigError(f"{where}: table {match.group(1)} does not exist")
    return table, tuple(c.strip() for c in match.group(2).split(","))


def _column(text: Any, catalog: Catalog, where: str) -> tuple[Table, str]:
    table_name, _, column = str(text).rpartition(".")
    table = catalog.table(table_name)
    if table is None or table.column(column) is None:
        raise ConfigError(f"{where}: column {text!r} does not exist", hint='write "table.column"')
    return table, column


def from_checks_file(path: Path, catalog: Catalog) -> list[DataCheck]:
    """A project's own checks (TOML): orphans, membership, rows, ranges, unique."""
    data, _ = load_toml(path)
    checks: list[DataCheck] = []
    for section, entries in data.items():
        if section not in CHECKS_KEYS or not isinstance(entries, list):
            raise ConfigError(f"{path}: unknown section [[{section}]]", hint=f"sections: {', '.join(CHECKS_KEYS)}")
        for n, entry in enumerate(entries, start=1):
            where = f"{path} [[{section}]] #{n}"
            unknown = sorted(set(entry) - set(CHECKS_KEYS[section])) if isinstance(entry, dict) else ["?"]
            if unknown:
                raise ConfigError(f"{where}: unknown key {unknown[0]!r}", hint=f"keys: {', '.join(CHECKS_KEYS[section])}")
            severity = Severity.WARNING if entry.get("severity") == "warning" else Severity.ERROR
            checks.append(_entry(section, entry, catalog, where, severity))
    return checks


def _entry(section: str, entry: dict[str, Any], catalog: Catalog, where: str, severity: Severity) -> DataCheck:
    name = str(entry.get("name", ""))
    if section == "orphans":
        table, column = _column(entry.get("column"), catalog, where)
        parent, refs = _reference(entry.get("references"), catalog, where)
        return DataCheck(name or f"{table.display}.{column} -> {parent.display}", "orphans", table, ROWS,
                         "delete or repair the orphans, then add a foreign key", severity,
                         reference=Reference((column,), parent, refs))
    if section == "membership":
        member = catalog.table(str(entry.get("table")))
        if member is None:
            raise ConfigError(f"{where}: table {entry.get('table')!r} does not exist")
        parent, refs = _reference(entry.get("in"), catalog, where)
        cols = tuple(entry.get("columns") or ())
        if len(cols) != len(refs) or not cols:
            raise ConfigError(f"{where}: columns and in must list as many columns")
        match = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(col(r, "p"), col(c)) for c, r in zip(cols, refs))
        return DataCheck(name or f"{member.display}({', '.join(cols)}) in {parent.display}", "membership", member, ROWS,
                         "add the missing membership or fix the row", severity,
                         predicate=sql.SQL("NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
                             sql.Identifier(parent.schema, parent.name), match))
    if section == "rows":
        target = catalog.table(str(entry.get("table")))
        if target is None or not isinstance(entry.get("where"), str):
            raise ConfigError(f"{where}: needs an existing table and a where predicate")
        return DataCheck(name or f"{target.display} where {entry['where']}", "rows", target, ROWS,
                         str(entry.get("hint", "fix the rows")), severity,
                         predicate=sql.SQL("({})").format(sql.SQL(entry["where"])))  # the project's own SQL
    if section == "ranges":
        table, column = _column(entry.get("column"), catalog, where)
        parts = [sql.SQL("{} < {}").format(col(column), sql.Literal(entry[k])) if k == "min" else
                 sql.SQL("{} > {}").format(col(column), sql.Literal(entry[k])) for k in ("min", "max") if k in entry]
        if not parts:
            raise ConfigError(f"{where}: give min and/or max")
        return DataCheck(name or f"{table.display}.{column} in range", "range", table, ROWS,
                         "fix the out-of-range values", severity, predicate=sql.SQL(" OR ").join(parts))
    keyed = catalog.table(str(entry.get("table")))
    cols = tuple(entry.get("columns") or ())
    if keyed is None or not cols:
        raise ConfigError(f"{where}: needs an existing table and columns")
    return DataCheck(name or f"{keyed.display}({', '.join(cols)}) unique", "duplicates", keyed, DUPLICATES,
                     "remove or merge the duplicates", severity, columns=cols)
