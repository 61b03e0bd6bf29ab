"""Planning keys, constraints and indexes: plain on a table the draft creates; on one that may
hold rows, NOT VALID then VALIDATE, unique indexes built CONCURRENTLY then USING INDEX."""

from __future__ import annotations

from dataclasses import replace

from ..catalog import CheckConstraint, ForeignKey, Index, PrimaryKey, Table, Unique
from ..expect.model import ForeignKeySpec, IndexSpec
from ..sql.identifiers import literal, quote
from ..sql.meaning import in_list, same
from .columns import ColumnPlanner
from ..sql.fragments import Unsafe, expression
from .state import Change, columns_sql, key_sql


class KeyPlanner(ColumnPlanner):
    """Primary and unique keys, foreign keys, checks, allowed values and indexes."""

    def _add_key(self, name: str, key: str, columns: tuple[str, ...], kind: str) -> None:
        """A PRIMARY KEY or UNIQUE constraint: inline in a table this draft creates; on a table that
        may hold rows, a concurrent unique index, then the constraint over it (brief ACCESS
        EXCLUSIVE, no scan)."""
        table = self.tables[name]
        if name not in self.existing:  # a table is either there already or created by this draft
            self._inline(name, f"CONSTRAINT {quote(key)} {kind} ({columns_sql(columns)})")
            return
        self.add(Change(f"{kind} ({', '.join(columns)}) on {table.display}", outside=[
            f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote(key)} ON {table.sql} ({columns_sql(columns)});",
            f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(key)} {kind} USING INDEX {quote(key)};"],
            outside_undo=[f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(key)};"]), name)

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
        if any(not c.not_null for c in table.columns if c.name in columns):  # it could not be made NOT NULL safely
            self.unexpressed(f"table {table.display}: a primary key on ({', '.join(columns)}) needs them NOT NULL first")
            return
        pkey = self.name(table.name, [], "pkey")
        self._add_key(name, pkey, columns, "PRIMARY KEY")
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
        self._add_key(name, key, columns, "UNIQUE")
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
        replaced = found[0] if found else None
        if replaced is not None and not (
                replaced.ref_table != spec.ref_table.removeprefix("public.") or replaced.ref_columns != spec.ref_columns
                or any(getattr(spec, a) is not None and getattr(spec, a) != getattr(replaced, a)
                       for a in ("on_delete", "on_update", "deferrable"))):
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
        body = (f"FOREIGN KEY ({columns_sql(spec.columns)}) REFERENCES {self._sql_name(ref)} ({columns_sql(ref_columns)})"
                + (f" ON DELETE {spec.on_delete.upper()}" if spec.on_delete and spec.on_delete != "no action" else "")
                + (f" ON UPDATE {spec.on_update.upper()}" if spec.on_update and spec.on_update != "no action" else "")
                + (" DEFERRABLE" if spec.deferrable else ""))
        self._constraint(name, constraint, body, f"foreign key {table.display}({', '.join(spec.columns)}) -> {ref}", ref)
        self._set(name, foreign_keys=(*table.foreign_keys, ForeignKey(
            constraint, spec.columns, self.tables[ref].name if self.tables[ref].schema == "public" else ref, ref_columns,
            spec.on_delete or "no action", spec.on_update or "no action", bool(spec.deferrable))))
        if replaced is not None:
            self._retire_constraint(name, replaced.name, _fk_body(replaced), replaced.validated, constraint)

    def _retire_constraint(self, name: str, old: str, body: str, validated: bool, by: str) -> None:
        """Drop the constraint ``by`` replaces, once ``by`` holds (after its VALIDATE); the rollback
        adds the old one back as it was (validated: that scans the table, as a rollback may)."""
        table = self.tables[name]
        readd = f"ALTER TABLE {table.sql} ADD CONSTRAINT {quote(old)} {body}" + ("" if validated else " NOT VALID") + ";"
        drop = [f"ALTER TABLE {table.sql} DROP CONSTRAINT {quote(old)};"]
        what = f"drop {old} on {table.display}, replaced by {by}"
        self.add(Change(what, outside=drop, outside_undo=[readd]) if name in self.existing else
                 Change(what, drop, [readd]), name)
        self._set(name, foreign_keys=tuple(f for f in table.foreign_keys if f.name != old),
                  checks=tuple(c for c in table.checks if c.name != old))

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
        replaced = next((c for c in table.checks if c.columns == (column,) and in_list(c.expression, column)), None)
        text = f"{quote(column)} IN ({', '.join(literal(v) for v in values)})"
        self._add_check(name, text, (column,), f"check {table.display}.{column} in ({', '.join(values)})")
        if replaced is not None:
            self._retire_constraint(name, replaced.name, f"CHECK ({replaced.expression})", replaced.validated,
                                    self.tables[name].checks[-1].name)

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

    def _named_index(self, name: str, spec: IndexSpec) -> None:
        table = self.tables[name]
        found = next((i for i in table.indexes if i.name == spec.name), None)
        if found is not None:
            if spec.keys is not None and (len(spec.keys) != len(found.keys) or
                                          not all(same(a, b) for a, b in zip(spec.keys, found.keys))) \
                    or spec.unique is not None and spec.unique != found.unique \
                    or spec.method is not None and spec.method.lower() != found.method \
                    or spec.where is not None and not same(spec.where, found.predicate):
                self._rebuild_index(name, found, spec)
            return
        if not spec.keys:
            self.unexpressed(f"index {spec.name} on {table.display}: no keys declared")
            return
        try:
            keys_sql = ", ".join(key_sql(k, table) for k in spec.keys)
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

    def _index_ddl(self, table: Table, index: Index, concurrently: bool, name: str | None = None) -> str:
        """CREATE INDEX for ``index`` (under ``name`` when given); Unsafe when a key is not one expression."""
        keys = ", ".join(key_sql(k, table) for k in index.keys)
        where = f" WHERE ({expression(index.predicate, f'WHERE of index {index.name}')})" if index.predicate else ""
        using = f" USING {index.method}" if index.method != "btree" else ""
        return (f"CREATE {'UNIQUE ' if index.unique else ''}INDEX {'CONCURRENTLY ' if concurrently else ''}"
                f"{quote(name or index.name)} ON {table.sql}{using} ({keys}){where};")

    def _rebuild_index(self, name: str, old: Index, spec: IndexSpec) -> None:
        """A named index with another shape: built anew under a temporary name (CONCURRENTLY on a
        table that may hold rows), the old one dropped, the new one renamed; the rollback does the
        same back to the old shape."""
        table = self.tables[name]
        if old.constraint or old.primary:
            self.unexpressed(f"index {old.name} on {table.display} backs constraint {old.constraint or 'the primary key'}"
                             ": change that constraint by hand")
            return
        method = spec.method.lower() if spec.method else old.method
        new = Index(old.name, spec.keys or old.keys, old.unique if spec.unique is None else spec.unique, method=method,
                    predicate=old.predicate if spec.where is None else spec.where)
        if not method.isidentifier():
            self.unexpressed(f"index {spec.name}: method {spec.method!r} is not an access method name")
            return
        online = name in self.existing
        temporary = self.name(table.name, [old.name[:30]], "rebuild")
        index_sql = self._index_sql(table, old.name)
        drop = f"DROP INDEX {'CONCURRENTLY ' if online else ''}{index_sql};"
        rename = f"ALTER INDEX {self._index_sql(table, temporary)} RENAME TO {quote(old.name)};"
        try:
            forward = [self._index_ddl(table, new, online, temporary), drop, rename]
            back = [self._index_ddl(table, old, online, temporary), drop, rename]
        except Unsafe as exc:
            self.unexpressed(str(exc))
            return
        what = f"rebuild index {old.name} on {table.display} in its new shape" + (" (CONCURRENTLY)" if online else "")
        self.add(Change(what, outside=forward, outside_undo=back) if online else Change(what, forward, back), name)
        self._set(name, indexes=tuple(new if i.name == old.name else i for i in table.indexes))

    def _indexed(self, name: str, columns: tuple[str, ...]) -> None:
        table = self.tables[name]
        if table.is_indexed_on(columns):
            return
        missing = [c for c in columns if table.column(c) is None]
        if missing:
            self.unexpressed(f"index on {table.display}({', '.join(columns)}): column {', '.join(missing)} does not exist")
            return
        index = Index(self.name(table.name, columns, "idx"), columns)
        self._create_index(name, index, columns_sql(columns), f"index on {table.display}({', '.join(columns)})")
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
        rebuild = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(old.name)} ON {table.sql} ({columns_sql(old.keys)});"
        self.add(Change(f"drop index {old.name}, made redundant by {by}", outside=[
            f"DROP INDEX CONCURRENTLY IF EXISTS {index_sql};"], outside_undo=[rebuild]), name)
        self._set(name, indexes=tuple(i for i in self.tables[name].indexes if i.name != old.name))


def _fk_body(fk: ForeignKey) -> str:
    """A foreign key's definition as SQL, from the catalog's reading of it."""
    ref = ".".join(quote(part) for part in fk.ref_table.split(".", 1))
    return (f"FOREIGN KEY ({columns_sql(fk.columns)}) REFERENCES {ref} ({columns_sql(fk.ref_columns)})"
            f" ON DELETE {fk.on_delete.upper()} ON UPDATE {fk.on_update.upper()}"
            + (" DEFERRABLE" + (" INITIALLY DEFERRED" if fk.deferred else "") if fk.deferrable else ""))
