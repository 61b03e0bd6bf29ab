"""What a table is expected to look like: the model the expectation files and stories fill."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnSpec:
    """A column that must exist; each attribute that is not None must match."""

    name: str
    type: str | None = None
    not_null: bool | None = None
    default: str | None = None
    identity: bool | None = None
    comment: str | None = None


@dataclass(frozen=True)
class ForeignKeySpec:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: bool | None = None


@dataclass(frozen=True)
class IndexSpec:
    """An index by name with its exact shape: each attribute that is not None must match."""

    name: str
    keys: tuple[str, ...] | None = None
    unique: bool | None = None
    method: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class TableExpectation:
    """Everything stated about one table, and where it was stated."""

    table: str
    source: str
    line: int
    label: str = ""
    columns: tuple[ColumnSpec, ...] = ()
    only_columns: bool = False
    primary_key: tuple[str, ...] | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    indexed: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKeySpec, ...] = ()
    allowed_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    indexes: tuple[IndexSpec, ...] = ()
    triggers: tuple[str, ...] | None = None  # exactly these (enabled) triggers; None: not checked
    checks: tuple[str, ...] = ()  # CHECK expressions a validated constraint must state (compared by meaning)
    comment: str | None = None  # the table's comment (COMMENT ON TABLE), exactly
    lines: dict[str, int] = field(default_factory=dict)
