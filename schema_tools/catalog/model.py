"""The schema as frozen dataclasses: what pg_catalog says, or what the migration files declare."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..records import quick_init

# The history tables of yoyo and of schema-tools, and those of the tools whose folders are read
# (Flyway, golang-migrate and dbmate, goose, diesel, Prisma): never part of a schema under check;
# nor is sqitch's registry schema, ``sqitch`` (catalog.read leaves it out unless schemas names it).
BOOKKEEPING = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock",
               "_schema_tools_migrations", "_schema_tools_events", "flyway_schema_history", "schema_migrations",
               "goose_db_version", "__diesel_schema_migrations", "_prisma_migrations")


@quick_init
@dataclass(frozen=True)
class Column:
    """A table column."""

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    identity: str = ""  # "always", "by default" or ""
    generated: str | None = None  # the expression of a stored generated column
    comment: str | None = None


@quick_init
@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]


@quick_init
@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "no action"
    on_update: str = "no action"
    deferrable: bool = False
    deferred: bool = False
    validated: bool = True


@quick_init
@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]


@quick_init
@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str
    columns: tuple[str, ...] = ()
    validated: bool = True


@quick_init
@dataclass(frozen=True)
class Index:
    """An index; ``keys`` holds a column name or an expression's text per key position."""

    name: str
    keys: tuple[str, ...]
    unique: bool = False
    primary: bool = False
    method: str = "btree"
    predicate: str | None = None
    valid: bool = True
    definition: str = ""
    constraint: str | None = None
    include: tuple[str, ...] = ()


@quick_init
@dataclass(frozen=True)
class Attached:
    """A trigger, rule or row-level-security policy on a table: what it is and its definition."""

    kind: str  # "trigger" | "rule" | "policy"
    name: str
    definition: str
    enabled: bool = True


@quick_init
@dataclass(frozen=True)
class Table:
    """A table with everything attached to it."""

    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    uniques: tuple[Unique, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None
    partitioned: bool = False
    attached: tuple[Attached, ...] = ()  # triggers, rules and policies: they change what queries do

    @property
    def display(self) -> str:
        """``name`` in the public schema, ``schema.name`` elsewhere."""
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        """The table's name as SQL, quoted where needed (for the statements hints suggest)."""
        from ..sql.identifiers import qualified

        return qualified(self.schema, self.name)

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column | None:
        return self._by_name.get(name)

    def allowed_values(self, column: str, validated_only: bool = False) -> tuple[str, ...] | None:
        """The values a CHECK on ``column`` alone restricts it to (``IN``, ``= ANY (ARRAY[...])``,
        ``=``, ``OR``-ed ``=``), or None when no CHECK does."""
        from ..sql.meaning import in_list

        for check in self.checks:
            if check.columns == (column,) and (check.validated or not validated_only):
                values = in_list(check.expression, column)
                if values:
                    return values
        return None

    def attached_of(self, kind: str) -> tuple[Attached, ...]:
        """Its triggers, rules or policies (``kind``)."""
        return tuple(a for a in self.attached if a.kind == kind)

    def indexes_leading_with(self, columns: tuple[str, ...]) -> list[Index]:
        """Every index whose first keys are ``columns``, in that order (valid or not, partial or not)."""
        return [i for i in self.indexes if i.keys[: len(columns)] == columns]

    def is_indexed_on(self, columns: tuple[str, ...]) -> bool:
        """True when a valid, complete (not partial) index leads with ``columns``."""
        return any(i.valid and i.predicate is None for i in self.indexes_leading_with(columns))

    def is_unique_on(self, columns: tuple[str, ...]) -> bool:
        """True when a unique constraint, or a valid complete unique index, covers exactly ``columns``."""
        wanted = set(columns)
        return (any(set(u.columns) == wanted for u in self.uniques)
                or any(i.unique and i.valid and i.predicate is None and set(i.keys) == wanted for i in self.indexes))


@dataclass(frozen=True)
class Catalog:
    """Tables by display name (``users``, ``billing.invoices``)."""

    tables: dict[str, Table] = field(default_factory=dict)
    event_triggers: tuple[Attached, ...] = ()  # database-wide: they run on DDL

    def table(self, name: str) -> Table | None:
        return self.tables.get(name) or self.tables.get(name.removeprefix("public."))
