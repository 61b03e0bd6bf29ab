"""One SQL statement and every question callers ask of it, each answered from PostgreSQL's own
parse tree of it (read once, on first use) and cached: its kind, what it targets, the lock it
takes, whether it works CONCURRENTLY, changes rows, drops data, changes the session, controls the
transaction, or reaches beyond its database. A statement the parser cannot read answers as the
cautious reader would: it may change rows, its lock is not analysed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .tree import Node, body, index, parse_tree, tag

if TYPE_CHECKING:
    from .acts import Act
    from .effects import Dropped, Target
    from .locks import LockInfo

T = TypeVar("T")
UNPARSED: Any = object()  # a tree not read yet (the statement parses its own text on first use)


class Statement:
    """A statement's text (leading comments removed), the file line and column where it starts,
    and its parse tree (None: PostgreSQL's parser refuses it)."""

    __slots__ = ("sql", "line", "column", "copy_data", "_tree", "_base", "_kind", "_fields", "_facts")

    def __init__(self, sql: str, line: int = 1, column: int = 1, *, tree: Node | None | object = UNPARSED,
                 base: int = 0) -> None:
        self.sql = sql
        self.line = line
        self.column = column
        self.copy_data: str | None = None  # the rows given inline to COPY ... FROM stdin (pg_dump's form)
        self._tree = tree
        self._base = base  # where the text starts, in bytes, in the text the tree was parsed from
        self._kind: str | None = None
        self._fields: Node | None = None
        self._facts: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Statement({self.sql!r}, line={self.line}, column={self.column})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Statement) and (self.sql, self.line, self.column) == (other.sql, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.sql, self.line, self.column))

    def _fact(self, name: str, answer: Callable[[Statement], T]) -> T:
        if name not in self._facts:
            self._facts[name] = answer(self)
        return self._facts[name]  # type: ignore[no-any-return]

    # --- the tree ---------------------------------------------------------------------------

    @property
    def tree(self) -> Node | None:
        """PostgreSQL's parse tree (``{"CreateStmt": {...}}``), or None when it refuses the text."""
        if self._tree is UNPARSED:
            self._tree, self._base = parse_tree(self.sql), 0
        return self._tree  # type: ignore[return-value]

    @property
    def kind(self) -> str:
        """The tree's node type (``CreateStmt``, ``AlterTableStmt``...); "" when not parsed."""
        if self._kind is None:
            self._kind = tag(self.tree)
        return self._kind

    @property
    def fields(self) -> Node:
        """The tree's fields ({} when not parsed)."""
        if self._fields is None:
            self._fields = body(self.tree)
        return self._fields

    def nodes(self, kind: str) -> list[Node]:
        """The fields of every ``kind`` node in the tree, outermost first (the tree walked once)."""
        return self._fact("index", lambda s: index(s.tree)).get(kind, [])

    def expression(self, node: Any) -> str:
        """SQL text of an expression found in this statement's tree."""
        from .printer import expression_sql

        return expression_sql(node, self.sql, self._base)

    def location(self, position: int | None) -> tuple[int, int]:
        """The file line and column of a 1-based character position in ``sql`` (PostgreSQL's error position)."""
        if not position:
            return self.line, self.column
        from .scanner import line_breaks, line_start

        before = self.sql[: position - 1]
        breaks = line_breaks(before)
        if not breaks:
            return self.line, self.column + position - 1
        return self.line + breaks, position - line_start(before, len(before))

    @property
    def folded(self) -> str:
        """The text without comments, whitespace folded."""
        from .scanner import folded

        return self._fact("folded", lambda s: folded(s.sql))

    @property
    def names(self) -> list[str]:
        """Every word and quoted identifier of the text, as PostgreSQL stores names."""
        from .scanner import names

        return self._fact("names", lambda s: names(s.sql))

    # --- what it does -----------------------------------------------------------------------

    @property
    def lock(self) -> LockInfo:
        """The strongest lock it takes on a relation that exists before it runs (see ``locks``)."""
        from .locks import lock_of

        return self._fact("lock", lock_of)

    @property
    def targets(self) -> tuple[Target, ...]:
        """The relations it acts on, its own object first, schemas as written (None: the search path decides)."""
        from .effects import targets

        return self._fact("targets", targets)

    @property
    def concurrently(self) -> str:
        """The CONCURRENTLY operation it is (``CREATE INDEX``, ``DROP INDEX``, ``REINDEX``,
        ``DETACH PARTITION``: none may run inside a transaction block), or ""."""
        from .effects import concurrently

        return self._fact("concurrently", concurrently)

    @property
    def changes_rows(self) -> str:
        """What it may do to rows, in words ("DELETE", "a DO block"...), or ""."""
        from .effects import changes_rows

        return self._fact("changes_rows", changes_rows)

    @property
    def drops_data(self) -> tuple[Dropped, ...]:
        """The tables (and columns) whose data it removes: DROP TABLE, TRUNCATE, DROP COLUMN."""
        from .effects import drops_data

        return self._fact("drops_data", drops_data)

    @property
    def session_changes(self) -> tuple[str, ...]:
        """What it changes in the session it runs on, DO bodies included: setting names
        (``search_path``, ``standard_conforming_strings``...) and phrases (``every setting (RESET
        ALL)``, ``advisory locks (pg_advisory_unlock_all)``...)."""
        from .effects import session_changes

        return self._fact("session_changes", session_changes)

    @property
    def setting_values(self) -> tuple[tuple[str, str | None], ...]:
        """``(setting, value)`` per setting it sets (SET, RESET, set_config; DO bodies too): the
        value as written, "DEFAULT", or None when known only at run time."""
        from .effects import setting_values

        return self._fact("setting_values", setting_values)

    @property
    def moves_sequence(self) -> str:
        """How it moves a sequence (``setval()``, ``ALTER SEQUENCE ... RESTART``...), which a
        transaction's rollback does not undo, or ""."""
        from .effects import moves_sequence

        return self._fact("moves_sequence", moves_sequence)

    @property
    def client_copy(self) -> str:
        """``COPY ... FROM STDIN`` or ``COPY ... TO STDOUT`` when it moves data to or from the client, or ""."""
        from .effects import client_copy

        return self._fact("client_copy", client_copy)

    @property
    def transaction_control(self) -> str:
        """The command when it begins, ends or prepares a transaction (``COMMIT``, ``PREPARE
        TRANSACTION``, a COMMIT in a DO block...), or "" (SAVEPOINT and ROLLBACK TO stay inside one)."""
        from .effects import transaction_control

        return self._fact("transaction_control", transaction_control)

    @property
    def reach(self) -> list[str]:
        """What it can do outside its database (programs, files, roles, settings...), a phrase each."""
        from .effects import beyond_database
        from .reach import reaches

        return self._fact("reach", lambda s: list(dict.fromkeys(reaches(s.sql) + beyond_database(s))))

    @property
    def inner(self) -> tuple[Statement, ...]:
        """The statements a DO block runs (plpgsql read by PostgreSQL's own plpgsql parser)."""
        from .bodies import do_statements

        return self._fact("inner", do_statements)

    @property
    def routine_body(self) -> tuple[Statement, ...]:
        """The statements a CREATE FUNCTION or PROCEDURE would run when called (SQL, BEGIN ATOMIC
        and plpgsql bodies; other languages are not read)."""
        from .bodies import routine_statements

        return self._fact("routine_body", routine_statements)

    @property
    def acts(self) -> tuple[Act, ...]:
        """What it does, as acts an allow-list judges (objects created, altered, dropped, written,
        locked or granted on; functions called; settings set; any other kind named), DO blocks
        and routine bodies included (see ``acts``)."""
        from .acts import acts

        return self._fact("acts", acts)
