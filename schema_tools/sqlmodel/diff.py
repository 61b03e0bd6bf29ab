"""Differences between two catalogs (the files' declared schema and the live one), by meaning."""

from __future__ import annotations

from ..catalog import Catalog, Table
from ..sql.typenames import normal_type
from ..findings import Finding
from ..sql.meaning import is_null, same

RULE = "drift"


def _f(message: str, obj: str, hint: str = "") -> Finding:
    return Finding(RULE, message, object=obj, hint=hint or "make a migration that brings the database in line "
                   "with the files, or change the files to describe what the database holds")


def _columns(name: str, a: Table, b: Table) -> list[Finding]:
    out = []
    for col in a.columns:
        other = b.column(col.name)
        if other is None:
            out.append(_f(f"column {name}.{col.name} is declared by the files but missing in the database", f"{name}.{col.name}"))
            continue
        diffs = []
        if normal_type(col.type) != normal_type(other.type):
            diffs.append(f"type {col.type} in the files, {other.type} in the database")
        if col.not_null != other.not_null:
            diffs.append("NOT NULL in the files, nullable in the database" if col.not_null else
                         "nullable in the files, NOT NULL in the database")
        if not same(None if is_null(col.default) else col.default, None if is_null(other.default) else other.default):
            diffs.append(f"default {col.default or 'none'} in the files, {other.default or 'none'} in the database")
        if bool(col.identity) != bool(other.identity):
            diffs.append("identity in the files only" if col.identity else "identity in the database only")
        if diffs:
            out.append(_f(f"column {name}.{col.name}: " + "; ".join(diffs), f"{name}.{col.name}"))
    for col in b.columns:
        if a.column(col.name) is None:
            out.append(_f(f"column {name}.{col.name} exists in the database but no migration declares it",
                          f"{name}.{col.name}", "add it to a migration, or drop it if it was added by hand"))
    return out


def _constraints(name: str, a: Table, b: Table) -> list[Finding]:
    out = []
    if (a.primary_key.columns if a.primary_key else None) != (b.primary_key.columns if b.primary_key else None):
        out.append(_f(f"{name}'s primary key is {a.primary_key.columns if a.primary_key else 'absent'} in the files, "
                      f"{b.primary_key.columns if b.primary_key else 'absent'} in the database", name))
    for label, left, right in (("in the files only", a, b), ("in the database only", b, a)):
        have = {frozenset(u.columns) for u in right.uniques}
        out += [_f(f"UNIQUE ({', '.join(u.columns)}) on {name} {label}", u.name) for u in left.uniques
                if frozenset(u.columns) not in have]
        for check in left.checks:
            if not any(same(check.expression, c.expression) for c in right.checks):
                out.append(_f(f"CHECK {check.expression} on {name} {label}", check.name))
        for fk in left.foreign_keys:
            if not any(o.columns == fk.columns for o in right.foreign_keys):
                out.append(_f(f"FOREIGN KEY ({', '.join(fk.columns)}) -> {fk.ref_table} on {name} {label}", fk.name))
    for fk in a.foreign_keys:
        other = next((o for o in b.foreign_keys if o.columns == fk.columns), None)
        if other is None:
            continue
        diffs = [f"{attr.replace('_', ' ')} {getattr(fk, attr)} in the files, {getattr(other, attr)} in the database"
                 for attr in ("ref_table", "ref_columns", "on_delete", "on_update", "deferrable", "validated")
                 if getattr(fk, attr) != getattr(other, attr)]
        if diffs:
            out.append(_f(f"foreign key {name}({', '.join(fk.columns)}): " + "; ".join(diffs), fk.name))
    return out


def _indexes(name: str, a: Table, b: Table) -> list[Finding]:
    out = []
    live = {i.name: i for i in b.indexes}
    for index in a.indexes:
        other = live.pop(index.name, None)
        if other is None:
            out.append(_f(f"index {index.name} on {name} is declared by the files but missing in the database",
                          index.name, f"rebuild it: {index.definition or 'CREATE INDEX CONCURRENTLY ...'}"))
            continue
        diffs = []
        if len(index.keys) != len(other.keys) or not all(same(x, y) for x, y in zip(index.keys, other.keys)):
            diffs.append(f"keys ({', '.join(index.keys)}) in the files, ({', '.join(other.keys)}) in the database")
        if index.unique != other.unique:
            diffs.append("unique in the files only" if index.unique else "unique in the database only")
        if index.method != other.method:
            diffs.append(f"{index.method} in the files, {other.method} in the database")
        if not same(index.predicate, other.predicate):
            diffs.append(f"WHERE {index.predicate or '-'} in the files, WHERE {other.predicate or '-'} in the database")
        if diffs:
            out.append(_f(f"index {index.name}: " + "; ".join(diffs), index.name))
    out += [_f(f"index {i.name} on {name} exists in the database but no migration declares it", i.name,
               "add it to a migration, or drop it if it was made by hand") for i in live.values()]
    return out


def diff(declared: Catalog, live: Catalog) -> dict[str, list[Finding]]:
    """Findings per table, for every difference between the declared and the live schema."""
    result: dict[str, list[Finding]] = {}
    for name in sorted(set(declared.tables) | set(live.tables)):
        a, b = declared.tables.get(name), live.tables.get(name)
        if a is None:
            result[name] = [_f(f"table {name} exists in the database but no migration declares it", name)]
        elif b is None:
            result[name] = [_f(f"table {name} is declared by the files but missing in the database", name,
                               "run schema-tools migrate (see status), or find who dropped it")]
        else:
            result[name] = _columns(name, a, b) + _constraints(name, a, b) + _indexes(name, a, b)
    return result
