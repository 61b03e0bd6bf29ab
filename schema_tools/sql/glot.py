"""Expressions compared by meaning with sqlglot, no database needed: the spelling PostgreSQL
stores vs the one a file uses (casts, parentheses, IN vs = ANY(ARRAY[...]), BETWEEN). Reached
through ``meaning``, which decides the cheap cases without importing sqlglot."""

from __future__ import annotations

import functools
import logging
import threading
from typing import cast

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

SQLGLOT_LOG = logging.getLogger("sqlglot")


class _CommandFallback(logging.Filter):
    """sqlglot warns on every statement it keeps as a Command (plpgsql, DO, ...): expected here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


_QUIET = _CommandFallback()

POSTGRES = Dialect.get_or_raise("postgres")


class _Tools(threading.local):
    """One tokenizer, parser and generator per thread: each resets itself per call, and making
    them anew for every statement costs a fifth of the parse."""

    def __init__(self) -> None:
        self.tokenizer = POSTGRES.tokenizer()
        self.parser = POSTGRES.parser()
        self.generator = POSTGRES.generator()


_TOOLS = _Tools()


def parse_statement(sql: str) -> exp.Expression | None:
    """sqlglot's tree for one PostgreSQL statement; None when it cannot parse it."""
    SQLGLOT_LOG.addFilter(_QUIET)  # only while we parse: the host's logging is its own
    try:
        trees = _TOOLS.parser.parse(_TOOLS.tokenizer.tokenize(sql), sql)
    except (SqlglotError, ValueError, RecursionError, TypeError, AttributeError, KeyError, IndexError):
        return None
    finally:
        SQLGLOT_LOG.removeFilter(_QUIET)
    return trees[0] if trees else None  # type: ignore[return-value]  # sqlglot types trees as Expr


def to_sql(node: exp.Expression) -> str:
    """PostgreSQL text for a tree (the dialect resolved once, not per call)."""
    return _TOOLS.generator.generate(node, copy=True)


TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR}
NUMBER_TYPES = {exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.DECIMAL,
                exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Paren):
        return cast(exp.Expression, node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return exp.Literal(this=f"-{node.this.this}", is_string=False)  # -1 is stored as '-1'::integer
    if isinstance(node, exp.Cast) and (isinstance(node.this, (exp.Literal, exp.Array, exp.Null))
                                       or (node.to.this in TEXT_TYPES | NUMBER_TYPES and isinstance(node.this, exp.Column))):
        # PostgreSQL stores '0' as '0'::numeric, NULL as NULL::character varying, and a check on a
        # column whose type changed as (col)::old_type
        return node.this
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
        target = node.expression.this
        target = target.this if isinstance(target, exp.Paren) else target
        if isinstance(target, exp.Array):
            return exp.In(this=node.this, expressions=list(target.expressions))
    if isinstance(node, exp.NEQ) and isinstance(node.expression, exp.Anonymous) and node.expression.name.upper() == "ALL" \
            and len(node.expression.expressions) == 1:  # NOT IN (...) is stored as <> ALL (ARRAY[...])
        target = node.expression.expressions[0]
        target = target.this if isinstance(target, exp.Paren) else target
        if isinstance(target, exp.Array):
            return exp.Not(this=exp.In(this=node.this, expressions=list(target.expressions)))
    if isinstance(node, (exp.LT, exp.LTE)):  # b > a, as a < b
        flipped = exp.GT if isinstance(node, exp.LT) else exp.GTE
        return flipped(this=node.expression.copy(), expression=node.this.copy())
    if isinstance(node, exp.Between):
        return exp.and_(exp.GTE(this=node.this.copy(), expression=node.args["low"]),  # type: ignore[return-value]
                        exp.LTE(this=node.this.copy(), expression=node.args["high"]))
    return node


def _structure(node: object) -> object:
    """The tree as nested tuples, parentheses ignored (the tree already holds the grouping)."""
    if isinstance(node, exp.Paren):
        return _structure(node.this)
    if isinstance(node, exp.Identifier):
        return ("id", node.this if node.quoted else node.this.lower())
    if isinstance(node, (exp.Literal, exp.BitString)):
        return ("literal", node.this)  # DEFAULT 0 and DEFAULT '0' store the same value, B'101' as '101'::bit
    if isinstance(node, exp.Var):
        return ("literal", node.this.lower())  # date_trunc('day', ...): sqlglot reads the quoted unit as a word
    if isinstance(node, exp.Expression):
        return (node.key, tuple((k, _structure(v)) for k, v in sorted(node.args.items())
                                if v not in (None, False, []) and k != "_type"))
    if isinstance(node, list):
        return tuple(_structure(v) for v in node)
    return str(node).lower() if isinstance(node, str) and not isinstance(node, exp.Expression) else node


@functools.lru_cache(maxsize=8192)
def canonical(sql: str | None) -> object:
    """A canonical form of an expression; unparsable text is compared as folded text."""
    if sql is None:
        return ""
    node = parse_statement(f"SELECT {sql}")
    if node is None or not isinstance(node, exp.Select) or len(node.expressions) != 1:
        return " ".join(sql.lower().split())
    tree = node.expressions[0]
    text = tree.sql()
    for _ in range(20):  # a rewrite can expose another (a cast inside a paren inside a paren...)
        tree = tree.transform(_rewrite)
        if tree.sql() == text:
            break
        text = tree.sql()
    return _structure(tree)


def same(a: str | None, b: str | None) -> bool:
    """True when two expressions mean the same (as far as these rewrites can tell)."""
    return canonical(a) == canonical(b)


def in_list(sql: str, column: str) -> tuple[str, ...] | None:
    """The values of ``column IN (...)`` (or ``= ANY (ARRAY[...])``, ``=``, ``OR``-ed ``=``), else None."""
    node = parse_statement(f"SELECT {sql}")
    if not isinstance(node, exp.Select) or len(node.expressions) != 1:
        return None
    tree = node.expressions[0]
    for _ in range(20):
        again = tree.transform(_rewrite)
        if again.sql() == tree.sql():
            break
        tree = again
    terms = list(tree.flatten()) if isinstance(tree, exp.Or) else [tree]
    values: list[str] = []
    for term in terms:
        if isinstance(term, exp.In) and _is_column(term.this, column):
            items = term.expressions
        elif isinstance(term, exp.EQ) and _is_column(term.this, column):
            items = [term.expression]
        else:
            return None
        if not all(isinstance(i, exp.Literal) and i.is_string for i in items):
            return None
        values += [i.this for i in items]
    return tuple(values)


def _is_column(node: exp.Expression, column: str) -> bool:
    return isinstance(node, exp.Column) and (node.name if node.this.quoted else node.name.lower()) == column


def is_null(sql: str | None) -> bool:
    """True for a default that is NULL (``NULL``, ``NULL::character varying``): no default at all."""
    return sql is not None and canonical(sql) == canonical("NULL")


def rename_column(sql: str, old: str, new: str) -> str:
    """An expression with column ``old`` renamed to ``new`` (as PostgreSQL shows it after a
    RENAME), or unchanged when it cannot be parsed."""
    node = parse_statement(f"SELECT {sql}")
    if not isinstance(node, exp.Select) or len(node.expressions) != 1:
        return sql

    def swap(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and (n.name if n.this.quoted else n.name.lower()) == old:
            return exp.column(exp.to_identifier(new, quoted=new != new.lower() or not new.isidentifier()))
        return n

    return to_sql(node.expressions[0].transform(swap))
