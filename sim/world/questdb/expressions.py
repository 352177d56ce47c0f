"""Compiling SQL expressions into Python closures, once per statement text.

A compiled expression is ``fn(row, args) -> value``: ``row`` is a stored row (a list in the
table's column order), ``args`` the statement's encoded parameters.  Compiling once and
calling many times is what keeps the backtest's thousands of statements cheap.

Each ``$n`` takes the type of the column it meets (``price = $2``, ``VALUES`` position,
``SET col = $n``; ``LIMIT`` takes LONG), which is how QuestDB describes parameters to
asyncpg and therefore decides which client-side encoder rejects a bad value.

NULL follows QuestDB, not the SQL standard: ``col = NULL`` is true for a NULL column (QuestDB
treats it as ``IS NULL``), while ``<``, ``>``, ... with a NULL operand are false.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlglot import exp

from sim.world.questdb.dialect import position_of
from sim.world.questdb.types import Encoder, encoder_for, literal_for
from system.ports import QueryError

Fn = Callable[[Sequence[Any], Sequence[Any]], Any]
"""A compiled expression: ``fn(row, args)``."""

_EPOCH = datetime(1970, 1, 1)
SERVER_VERSION = "PostgreSQL 12.3, compiled by Visual C++ build 1914, 64-bit, QuestDB"
"""What ``SELECT version()`` answers (questdb-facts.md: QuestDB reports PostgreSQL 12.3)."""
_COMPARISONS: dict[type[exp.Expression], Callable[[Any, Any], bool]] = {
    exp.LT: operator.lt, exp.LTE: operator.le, exp.GT: operator.gt, exp.GTE: operator.ge,
}
_FLIPPED: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.LT: exp.GT, exp.LTE: exp.GTE, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.EQ: exp.EQ,
}
_ARITHMETIC: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.Add: operator.add, exp.Sub: operator.sub, exp.Mul: operator.mul, exp.Div: operator.truediv,
}


@dataclass(frozen=True)
class Layout:
    """The columns a statement is compiled against (a table, or a metadata function's rows)."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    ts_position: int | None = None
    symbol_positions: frozenset[int] = frozenset()
    """SYMBOL columns with an equality index (empty for metadata functions)."""

    def find(self, name: str) -> int | None:
        try:
            return self.columns.index(name.lower())
        except ValueError:
            return None


@dataclass
class Params:
    """The ``$n`` parameters of one statement and the column type each one meets."""

    types: dict[int, str | None] = field(default_factory=dict)

    def note(self, number: int, column_type: str | None) -> None:
        if self.types.get(number) is None:
            self.types[number] = column_type

    def encoders(self) -> tuple[Encoder, ...]:
        count = max(self.types, default=0)
        return tuple(encoder_for(self.types.get(number)) for number in range(1, count + 1))


def constant(value: Any) -> Fn:
    return lambda row, args: value


class ExpressionCompiler:
    """Turns sqlglot nodes into closures over one layout, recording parameter types."""

    def __init__(self, query: str, layout: Layout, params: Params) -> None:
        self.query = query
        self.layout = layout
        self.params = params

    def error(self, message: str, node: exp.Expression) -> QueryError:
        return QueryError(message, query=self.query, position=position_of(self.query, node))

    def column(self, node: exp.Column) -> int:
        position = self.layout.find(node.name)
        if position is None:
            raise self.error(f"Invalid column: {node.name}", node)
        return position

    def type_of(self, node: exp.Expression) -> str | None:
        if isinstance(node, exp.Column):
            return self.layout.types[self.column(node)]
        if isinstance(node, exp.Paren):
            return self.type_of(node.this)
        return None

    # --- values -------------------------------------------------------------------------------

    def value(self, node: exp.Expression, hint: str | None = None) -> Fn:
        """Compile a value; ``hint`` is the type of the column this value meets, if any."""
        if isinstance(node, exp.Paren):
            return self.value(node.this, hint)
        if isinstance(node, exp.Column):
            position = self.column(node)
            return lambda row, args: row[position]
        if isinstance(node, exp.Parameter):
            number = int(node.this.name)
            self.params.note(number, hint)
            index = number - 1
            return lambda row, args: args[index]
        if isinstance(node, exp.Literal):
            raw: Any = node.this if node.is_string else _number(node.this)
            try:
                return constant(literal_for(hint, raw))
            except ValueError as error:
                raise self.error(f"inconvertible value: {node.sql()} [{error}]", node) from error
        if isinstance(node, exp.Null):
            return constant(None)
        if isinstance(node, exp.Boolean):
            return constant(bool(node.this))
        if isinstance(node, exp.Neg):
            inner = self.value(node.this, hint)
            return lambda row, args: None if (v := inner(row, args)) is None else -v
        if type(node) in _ARITHMETIC:
            return self._arithmetic(node, hint)
        if isinstance(node, exp.Cast):
            return self._cast(node)
        if isinstance(node, exp.CurrentVersion):
            return constant(SERVER_VERSION)
        raise self.error(f"unsupported expression: {node.sql()}", node)

    def _arithmetic(self, node: exp.Expression, hint: str | None) -> Fn:
        apply = _ARITHMETIC[type(node)]
        left = self.value(node.this, hint or self.type_of(node.expression))
        right = self.value(node.expression, hint or self.type_of(node.this))

        def arithmetic(row: Sequence[Any], args: Sequence[Any]) -> Any:
            a, b = left(row, args), right(row, args)
            return None if a is None or b is None else apply(a, b)

        return arithmetic

    def _cast(self, node: exp.Cast) -> Fn:
        target = node.to.this.name.upper()
        if target == "TIMESTAMP":
            # questdb-facts.md: a number cast to timestamp is read as microseconds since the
            # epoch, so a float of epoch *seconds* silently lands in January 1970.
            inner = self.value(node.this, "LONG" if isinstance(node.this, exp.Parameter) else None)

            def to_timestamp(row: Sequence[Any], args: Sequence[Any]) -> Any:
                value = inner(row, args)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return _EPOCH + timedelta(microseconds=int(value))
                return value

            return to_timestamp
        converters: dict[str, Callable[[Any], Any]] = {
            "DOUBLE": float, "FLOAT": float, "BIGINT": int, "INT": int, "TEXT": str, "VARCHAR": str,
        }
        convert = converters.get(target)
        if convert is None:
            raise self.error(f"unsupported cast to {target}", node)
        inner = self.value(node.this)
        return lambda row, args: None if (v := inner(row, args)) is None else convert(v)

    # --- predicates ---------------------------------------------------------------------------

    def predicate(self, node: exp.Expression) -> Fn:
        if isinstance(node, exp.Paren):
            return self.predicate(node.this)
        if isinstance(node, exp.And):
            left, right = self.predicate(node.this), self.predicate(node.expression)
            return lambda row, args: left(row, args) and right(row, args)
        if isinstance(node, exp.Or):
            left, right = self.predicate(node.this), self.predicate(node.expression)
            return lambda row, args: left(row, args) or right(row, args)
        if isinstance(node, exp.Not):
            inner = self.predicate(node.this)
            return lambda row, args: not inner(row, args)
        if isinstance(node, exp.EQ | exp.NEQ):
            left, right = self._operands(node)
            negate = isinstance(node, exp.NEQ)
            return lambda row, args: _equal(left(row, args), right(row, args)) != negate
        if type(node) in _COMPARISONS:
            compare = _COMPARISONS[type(node)]
            left, right = self._operands(node)

            def comparison(row: Sequence[Any], args: Sequence[Any]) -> bool:
                a, b = left(row, args), right(row, args)
                return a is not None and b is not None and compare(a, b)

            return comparison
        if isinstance(node, exp.In):
            probe = self.value(node.this)
            hint = self.type_of(node.this)
            members = [self.value(member, hint) for member in node.expressions]
            if not members:
                raise self.error("IN needs a list of values", node)
            return lambda row, args: probe(row, args) in {m(row, args) for m in members}
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise self.error("IS supports only NULL", node)
            inner = self.value(node.this)
            negate = bool(node.args.get("negate"))
            return lambda row, args: (inner(row, args) is None) != negate
        return self.value(node)

    def _operands(self, node: exp.Expression) -> tuple[Fn, Fn]:
        left_node, right_node = node.this, node.expression
        left = self.value(left_node, self.type_of(right_node))
        right = self.value(right_node, self.type_of(left_node))
        return left, right


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


# --- access paths -----------------------------------------------------------------------------


@dataclass
class Access:
    """How to find candidate rows without scanning: one SYMBOL equality, a timestamp range.

    Conjuncts used here are removed from the residual filter; everything else stays in it.
    """

    symbol_position: int | None = None
    symbol: Fn | None = None
    low: Fn | None = None
    low_inclusive: bool = True
    high: Fn | None = None
    high_inclusive: bool = True
    residual: Fn | None = None


def plan_access(compiler: ExpressionCompiler, where: exp.Expression | None) -> Access:
    access = Access()
    if where is None:
        return access
    residual: list[Fn] = []
    for conjunct in _conjuncts(where):
        if not _use_for_access(compiler, access, conjunct):
            residual.append(compiler.predicate(conjunct))
    if len(residual) == 1:
        access.residual = residual[0]
    elif residual:
        access.residual = lambda row, args: all(test(row, args) for test in residual)
    return access


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _use_for_access(compiler: ExpressionCompiler, access: Access, node: exp.Expression) -> bool:
    kind = type(node)
    if kind not in _FLIPPED:
        return False
    column, bound = node.this, node.expression
    if not isinstance(column, exp.Column):
        column, bound, kind = bound, column, _FLIPPED[kind]
    if not isinstance(column, exp.Column) or not isinstance(bound, exp.Parameter | exp.Literal | exp.Null):
        return False
    layout = compiler.layout
    position = compiler.column(column)
    value = compiler.value(bound, layout.types[position])
    if kind is exp.EQ and position in layout.symbol_positions and access.symbol is None:
        access.symbol_position, access.symbol = position, value
        return True
    if position != layout.ts_position:
        return False
    if kind is exp.EQ:
        if access.low is not None or access.high is not None:
            return False
        access.low = access.high = value
        access.low_inclusive = access.high_inclusive = True
        return True
    if kind in (exp.GT, exp.GTE) and access.low is None:
        access.low, access.low_inclusive = value, kind is exp.GTE
        return True
    if kind in (exp.LT, exp.LTE) and access.high is None:
        access.high, access.high_inclusive = value, kind is exp.LTE
        return True
    return False
