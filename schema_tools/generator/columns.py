"""Planning columns: new ones, defaults, nullability (NOT NULL through a validated CHECK on a
table that may hold rows), drops, comments."""

from __future__ import annotations

from dataclasses import replace

from ..catalog import Column
from ..expect.model import ColumnSpec, TableExpectation
from ..linter.rules.rewrite_default import NO_REWRITE_SINCE, volatile_default
from ..sql.identifiers import literal, quote
from ..sql.meaning import same
from ..sql.typenames import normal_type
from ..sql.fragments import Unsafe, expression, sql_type
from .state import Change, PlanState

NOT_NULL_PROVEN_SINCE = 12  # a validated CHECK (col IS NOT NULL) lets SET NOT NULL skip its scan


class ColumnPlanner(PlanState):
    """Columns of an expected table: added, defaults, nullability, drops, comments."""

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

    def _comments(self, name: str, exp: TableExpectation) -> None:
        """COMMENT ON TABLE / COLUMN where the expected text differs (metadata only: a brief lock, no scan)."""
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
        if existing and spec.default and volatile_default(spec.default):
            self.unexpressed(f"column {where}: its default {spec.default} is volatile, so adding it rewrites "
                             f"{table.display}: add the column without a default, backfill in batches, then SET DEFAULT")
            return
        if existing and spec.default is not None and self.postgres < NO_REWRITE_SINCE:
            self.unexpressed(f"column {where}: before PostgreSQL {NO_REWRITE_SINCE} (postgres = {self.postgres}) a "
                             f"default is written to every row of {table.display}: add the column without one, "
                             "backfill in batches, then SET DEFAULT")
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
        elif self.postgres < NOT_NULL_PROVEN_SINCE:
            self.unexpressed(f"column {table.display}.{column.name}: before PostgreSQL {NOT_NULL_PROVEN_SINCE} "
                             f"(postgres = {self.postgres}) SET NOT NULL scans the table under an ACCESS EXCLUSIVE "
                             "lock even after a validated CHECK: keep a validated CHECK (col IS NOT NULL) instead, "
                             "or set it in a maintenance window")
            return
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
