"""Opt-in profile: can the declared schema be distributed by a tenant column (Citus)?

Enabled by ``[tool.schema_tools.distribution] column = "tenant_id"``. On a distributed table,
Citus needs the distribution column in every primary key and unique constraint, and a foreign
key between two distributed tables must include it on both sides (co-location). Tables
without the column that distributed tables point to are candidates for reference tables.
Bad:   CREATE TABLE usage_events (id bigint PRIMARY KEY, tenant_id bigint, idempotency_key text UNIQUE, ...);
Good:  CREATE TABLE usage_events (tenant_id bigint, id bigint, idempotency_key text, ...,
           PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, idempotency_key));
"""

from __future__ import annotations

from ...catalog import Catalog, Table
from ...findings import Finding, Severity

PRIMARY_KEY = "distribution-primary-key"
UNIQUE = "distribution-unique"
FOREIGN_KEY = "distribution-foreign-key"
REFERENCE = "distribution-reference-table"
HELP = {PRIMARY_KEY: "primary key of a distributed table without the distribution column",
        UNIQUE: "unique constraint of a distributed table without the distribution column",
        FOREIGN_KEY: "foreign key between distributed tables without the distribution column",
        REFERENCE: "table without the distribution column that distributed tables point to (a note)"}


def _scoped(table: Table, column: str) -> bool:
    return table.column(column) is not None


def check(catalog: Catalog, column: str) -> list[tuple[str, str, Finding]]:
    """(table, object name, finding) for everything that blocks distributing by ``column``."""
    out = []
    tenant_tables = {fk.ref_table for t in catalog.tables.values() for fk in t.foreign_keys if fk.columns == (column,)}
    for name, table in catalog.tables.items():
        if not _scoped(table, column):
            continue
        pk = table.primary_key
        if pk is not None and column not in pk.columns:
            out.append((name, pk.name, Finding(
                PRIMARY_KEY, f"PRIMARY KEY ({', '.join(pk.columns)}) on {name} lacks {column}: Citus requires it in "
                f"the primary key of a table distributed by {column}", object=f"{name}.{pk.name}",
                hint=f"PRIMARY KEY ({column}, {', '.join(pk.columns)})")))
        for unique in table.uniques:
            if column not in unique.columns:
                cols = ", ".join(unique.columns)
                out.append((name, unique.name, Finding(
                    UNIQUE, f"UNIQUE ({cols}) on {name} lacks {column}: it could only be enforced across all tenants, "
                    "which a distributed table cannot do", object=f"{name}.{unique.name}",
                    hint=f"if ({cols}) only needs to be unique per tenant (as idempotency keys and hashes usually do): "
                         f"UNIQUE ({column}, {cols}); if it must be global, keep it in a reference table")))
        for index in table.indexes:
            if index.unique and index.constraint is None and column not in index.keys:
                out.append((name, index.name, Finding(
                    UNIQUE, f"unique index {index.name} on {name} lacks {column}", object=index.name,
                    hint=f"make it unique on ({column}, {', '.join(index.keys)})")))
        for fk in table.foreign_keys:
            target = catalog.table(fk.ref_table)
            if target is None or not _scoped(target, column) or fk.columns == (column,):
                continue
            if column not in fk.columns:
                out.append((name, fk.name, Finding(
                    FOREIGN_KEY, f"foreign key {name}({', '.join(fk.columns)}) -> {fk.ref_table} does not include "
                    f"{column}: between distributed tables Citus needs it on both sides", object=f"{name}.{fk.name}",
                    hint=f"FOREIGN KEY ({column}, {', '.join(fk.columns)}) REFERENCES {fk.ref_table} "
                         f"({column}, {', '.join(fk.ref_columns)})")))
    for name, table in catalog.tables.items():
        if _scoped(table, column):
            continue
        pointers = sorted({t for t, tbl in catalog.tables.items() if _scoped(tbl, column)
                           for fk in tbl.foreign_keys if fk.ref_table == name})
        if not pointers:
            continue
        if name in tenant_tables:
            message = (f"{name} is the tenant table ({', '.join(pointers)} refer to it by {column}): distribute it by "
                       f"its key, co-located with the tables distributed by {column}")
        else:
            message = (f"{name} has no {column} but {', '.join(pointers)} point to it: a reference-table candidate "
                       "(replicated to every node)")
        out.append((name, "", Finding(REFERENCE, message, Severity.NOTE, name,
                                      f"SELECT create_reference_table('{name}');" if name not in tenant_tables else
                                      f"SELECT create_distributed_table('{name}', '<its key>');")))
    return out
