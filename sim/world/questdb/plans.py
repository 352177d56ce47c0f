"""Statement plans: what one SQL text does, decided once and reused for every execution.

``compile_statement(query, catalog)`` parses with sqlglot, resolves tables and columns (unknown
ones are QueryErrors with QuestDB's message and the position), types every ``$n`` parameter,
and picks the access path (SYMBOL index, timestamp bisection).  The database caches the plan
by SQL text until the schema changes.

SELECT supports a column list or ``*``, WHERE, ORDER BY (several keys, DESC), ``LIMIT n``
(negative: the last n rows) and QuestDB's ``LIMIT lo, hi`` (rows lo+1..hi), the aggregates
count/sum/min/max/avg/first/last with QuestDB's implicit GROUP BY (every non-aggregate output
column is a key), and the metadata functions ``table_columns('t')``, ``tables()``,
``wal_tables()`` plus ``SHOW COLUMNS FROM t``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlglot import exp

from contracts.schema import Table
from sim.world.questdb.dialect import parse, position_of
from sim.world.questdb.expressions import Access, ExpressionCompiler, Fn, Layout, Params, plan_access
from sim.world.questdb.records import SimRecord
from sim.world.questdb.store import TableStore
from sim.world.questdb.types import Encoder
from system.ports import QueryError

_SHOW_COLUMNS = re.compile(r"^\s*SHOW\s+COLUMNS\s+FROM\s+(\"?)(\w+)\1\s*;?\s*$", re.IGNORECASE)
_AGGREGATES: dict[type[exp.Expression], str] = {
    exp.Count: "count", exp.Sum: "sum", exp.Min: "min", exp.Max: "max", exp.Avg: "avg",
    exp.First: "first", exp.Last: "last",
}
_NO_ROW: tuple[Any, ...] = ()


class Catalog(Protocol):
    """What plans need from the database: the schema as written and the tables as applied."""

    def table(self, name: str) -> Table | None:
        """The table as the sequencer knows it (DDL applied at once)."""
        ...

    def store(self, name: str) -> TableStore | None:
        """The table as readers see it (WAL applied)."""
        ...

    def stores(self) -> list[TableStore]: ...


def table_layout(table: Table) -> Layout:
    types = tuple(column.type for column in table.columns.values())
    columns = tuple(table.columns)
    return Layout(
        table.name, columns, types,
        ts_position=columns.index(table.designated_timestamp) if table.designated_timestamp else None,
        symbol_positions=frozenset(at for at, kind in enumerate(types) if kind == "SYMBOL"),
    )


# --- metadata functions -----------------------------------------------------------------------


def _table_columns(catalog: Catalog, name: str, query: str, node: exp.Expression | None) -> list[list[Any]]:
    store = catalog.store(name)
    if store is None:
        raise QueryError(f"table does not exist [table={name}]", query=query,
                         position=position_of(query, node) if node is not None else 1)
    rows = []
    for column in store.table.columns.values():
        symbol = column.type == "SYMBOL"
        rows.append([column.name, column.type, column.indexed, 256 if column.indexed else 0, symbol,
                     128 if symbol else 0, column.name == store.table.designated_timestamp,
                     column.name in store.table.dedup_keys])
    return rows


def _tables(catalog: Catalog) -> list[list[Any]]:
    return [[number, store.name, store.table.designated_timestamp, store.table.partition_by or "NONE",
             store.wal, bool(store.table.dedup_keys)] for number, store in enumerate(catalog.stores(), 1)]


def _wal_tables(catalog: Catalog) -> list[list[Any]]:
    return [[store.name, store.suspended is not None, store.writer_txn, store.sequencer_txn - store.writer_txn,
             store.sequencer_txn, None, store.suspended] for store in catalog.stores() if store.wal]


_METADATA: dict[str, Layout] = {
    "table_columns": Layout("table_columns", (
        "column", "type", "indexed", "indexblockcapacity", "symbolcached", "symbolcapacity",
        "designated", "upsertkey"), ("STRING", "STRING", "BOOLEAN", "INT", "BOOLEAN", "INT", "BOOLEAN",
                                     "BOOLEAN")),
    "tables": Layout("tables", ("id", "table_name", "designatedtimestamp", "partitionby", "walenabled",
                                "dedup"), ("INT", "STRING", "STRING", "STRING", "BOOLEAN", "BOOLEAN")),
    "wal_tables": Layout("wal_tables", ("name", "suspended", "writertxn", "writerlagtxncount",
                                        "sequencertxn", "errortag", "errormessage"),
                         ("STRING", "BOOLEAN", "LONG", "LONG", "LONG", "STRING", "STRING")),
}
_DISPLAY_NAMES = {
    "indexblockcapacity": "indexBlockCapacity", "symbolcached": "symbolCached",
    "symbolcapacity": "symbolCapacity", "upsertkey": "upsertKey", "designatedtimestamp": "designatedTimestamp",
    "partitionby": "partitionBy", "walenabled": "walEnabled", "writertxn": "writerTxn",
    "writerlagtxncount": "writerLagTxnCount", "sequencertxn": "sequencerTxn", "errortag": "errorTag",
    "errormessage": "errorMessage",
}


# --- plans ------------------------------------------------------------------------------------


@dataclass
class InsertPlan:
    table: str
    encoders: tuple[Encoder, ...]
    width: int
    ts_position: int | None
    tuples: list[list[tuple[int, Fn]]]
    query: str

    def rows(self, args: Sequence[Any]) -> list[list[Any]]:
        """Complete rows in table column order; NULL designated timestamps are refused here,
        when the statement is sent, not later when the WAL applies it."""
        rows = []
        for assignments in self.tuples:
            row: list[Any] = [None] * self.width
            for position, value in assignments:
                row[position] = value(_NO_ROW, args)
            if self.ts_position is not None and row[self.ts_position] is None:
                raise QueryError("designated timestamp column cannot be NULL", query=self.query, position=1)
            rows.append(row)
        return rows


@dataclass
class UpdatePlan:
    tag: ClassVar[str] = "UPDATE"
    """The command tag's verb (``UPDATE n``); the simulated PostgreSQL's DELETE says ``DELETE n``."""
    table: str
    encoders: tuple[Encoder, ...]
    access: Access
    changes: list[tuple[int, Fn]]

    def matches(self, store: TableStore, args: Sequence[Any]) -> list[list[Any]]:
        """The stored rows the WHERE clause selects."""
        run, start, stop = _candidates(store, self.access, args)
        residual = self.access.residual
        return [row for row in run.rows[start:stop] if residual is None or residual(row, args)]

    def apply(self, store: TableStore, args: Sequence[Any]) -> int:
        """Change every matching row; all new values are computed from the old row first."""
        matches = self.matches(store, args)
        for row in matches:
            store.assign(row, {position: value(row, args) for position, value in self.changes})
        return len(matches)


@dataclass
class SelectPlan:
    encoders: tuple[Encoder, ...]
    source: Callable[[Catalog, Sequence[Any]], tuple[list[list[Any]], int, int]]
    residual: Fn | None
    outputs: list[tuple[str, Fn]]
    index: dict[str, int]
    order: list[tuple[Fn, bool]]
    natural: str | None
    """``"asc"``/``"desc"`` when ORDER BY is the stored order (or its reverse); None otherwise."""
    aggregates: list[tuple[str, Fn | None]] | None
    """Per output: (aggregate name, argument) or ("", key) for an implicit GROUP BY key."""
    projector: Callable[[Sequence[Any]], tuple[Any, ...]] | None
    limit: Fn | None
    low: Fn | None

    def run(self, catalog: Catalog, args: Sequence[Any]) -> list[SimRecord]:
        rows, start, stop = self.source(catalog, args)
        if self.natural == "asc" and self.residual is None and self.aggregates is None:
            first, last, _ = self._window(stop - start, args).indices(stop - start)
            return self._records(rows[start + first:start + max(first, last)], args)
        picked = rows[start:stop]
        if self.residual is not None:
            residual = self.residual
            picked = [row for row in picked if residual(row, args)]
        if self.aggregates is not None:
            values = self._aggregate(picked, args)
        else:
            if self.natural == "desc":
                picked.reverse()
            elif self.natural is None:
                _sort(picked, self.order, args)
            values = [self._project(row, args) for row in picked]
        return [SimRecord(self.index, row) for row in values[self._window(len(values), args)]]

    def _project(self, row: Sequence[Any], args: Sequence[Any]) -> tuple[Any, ...]:
        if self.projector is not None:
            return self.projector(row)
        return tuple(value(row, args) for _, value in self.outputs)

    def _records(self, rows: list[list[Any]], args: Sequence[Any]) -> list[SimRecord]:
        index = self.index
        if self.projector is not None:
            project = self.projector
            return [SimRecord(index, project(row)) for row in rows]
        return [SimRecord(index, self._project(row, args)) for row in rows]

    def _window(self, length: int, args: Sequence[Any]) -> slice:
        if self.limit is None:
            return slice(0, length)
        high = _bound(self.limit(_NO_ROW, args))
        if self.low is None:
            return slice(0, high) if high >= 0 else slice(max(length + high, 0), length)
        return slice(_bound(self.low(_NO_ROW, args)), high)

    def _aggregate(self, rows: list[list[Any]], args: Sequence[Any]) -> list[tuple[Any, ...]]:
        assert self.aggregates is not None
        keys = [value for name, value in self.aggregates if not name and value is not None]
        groups: dict[tuple[Any, ...], list[list[Any]]] = {}
        if not keys:  # one group of every row (``count()`` over a range: no per-row work to group it)
            groups[()] = rows
        else:
            for row in rows:
                groups.setdefault(tuple(key(row, args) for key in keys), []).append(row)
        out = []
        for key_values, members in groups.items():
            remaining = iter(key_values)
            out.append(tuple(next(remaining) if not name else _fold(name, value, members, args)
                             for name, value in self.aggregates))
        if self.order:
            _sort(out, self.order, args)  # type: ignore[arg-type]
        return out


def _bound(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise QueryError(f"LIMIT expects an integer, got {value!r}")
    return value


def _fold(name: str, value: Fn | None, rows: list[list[Any]], args: Sequence[Any]) -> Any:
    if value is None:
        return len(rows)
    seen = [value(row, args) for row in rows]
    if name == "first":
        return seen[0] if seen else None
    if name == "last":
        return seen[-1] if seen else None
    present = [item for item in seen if item is not None]
    if name == "count":
        return len(present)
    if not present:
        return None
    if name == "sum":
        return sum(present)
    if name == "avg":
        return sum(present) / len(present)
    return min(present) if name == "min" else max(present)


def _sort(rows: list[Any], order: list[tuple[Fn, bool]], args: Sequence[Any]) -> None:
    """Stable multi-key sort; NULL sorts as the smallest value, as in QuestDB."""
    for key, descending in reversed(order):
        rows.sort(key=lambda row, key=key: (key(row, args) is not None, key(row, args)), reverse=descending)


def _candidates(store: TableStore, access: Access, args: Sequence[Any]) -> tuple[Any, int, int]:
    symbol = None if access.symbol is None else access.symbol(_NO_ROW, args)
    run = store.run_for(access.symbol_position, symbol)
    low = None if access.low is None else access.low(_NO_ROW, args)
    high = None if access.high is None else access.high(_NO_ROW, args)
    if (access.low is not None and low is None) or (access.high is not None and high is None):
        return run, 0, 0  # a comparison with NULL matches nothing
    start, stop = run.span(low, access.low_inclusive, high, access.high_inclusive)
    return run, start, stop


# --- compilation ------------------------------------------------------------------------------


def compile_statement(query: str, catalog: Catalog) -> InsertPlan | UpdatePlan | SelectPlan:
    show = _SHOW_COLUMNS.match(query)
    if show:
        return _select(query, exp.select("*").from_(f"table_columns('{show.group(2)}')"), catalog)
    return compile_node(query, parse(query), catalog)


def compile_node(query: str, node: exp.Expression, catalog: Catalog) -> InsertPlan | UpdatePlan | SelectPlan:
    """The plan of a parsed INSERT ... VALUES, UPDATE or SELECT (both dialects share these)."""
    if isinstance(node, exp.Insert):
        return _insert(query, node, catalog)
    if isinstance(node, exp.Update):
        return _update(query, node, catalog)
    if isinstance(node, exp.Select):
        return _select(query, node, catalog)
    raise QueryError(f"unsupported statement: {node.key.upper()}", query=query, position=1)


def _writable(query: str, node: exp.Expression, catalog: Catalog) -> tuple[Table, exp.Table]:
    target = node if isinstance(node, exp.Table) else node.find(exp.Table)
    assert target is not None
    table = catalog.table(target.name.lower())
    if table is None:
        raise QueryError(f"table does not exist [table={target.name}]", query=query,
                         position=position_of(query, target))
    return table, target


def _insert(query: str, node: exp.Insert, catalog: Catalog) -> InsertPlan:
    table, _ = _writable(query, node.this, catalog)
    layout = table_layout(table)
    params = Params()
    compiler = ExpressionCompiler(query, layout, params)
    if isinstance(node.this, exp.Schema):
        names = node.this.expressions
        positions = []
        for name in names:
            position = layout.find(name.name)
            if position is None:
                raise compiler.error(f"Invalid column: {name.name}", name)
            if position in positions:
                raise compiler.error(f"Duplicate column [name={name.name}]", name)
            positions.append(position)
    else:
        positions = list(range(len(layout.columns)))
    values = node.expression
    if not isinstance(values, exp.Values):
        raise compiler.error("INSERT supports only VALUES", node)
    tuples = []
    for number, row in enumerate(values.expressions, start=1):
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != len(positions):
            raise compiler.error(f"row value count does not match column count [expected={len(positions)}, "
                                 f"actual={len(items)}, tuple={number}]", row)
        tuples.append([(at, compiler.value(item, layout.types[at])) for at, item in zip(positions, items,
                                                                                      strict=True)])
    return InsertPlan(table.name, params.encoders(), len(layout.columns), layout.ts_position, tuples, query)


def _update(query: str, node: exp.Update, catalog: Catalog) -> UpdatePlan:
    table, _ = _writable(query, node.this, catalog)
    layout = table_layout(table)
    params = Params()
    compiler = ExpressionCompiler(query, layout, params)
    changes = []
    for assignment in node.expressions:
        column = assignment.this
        position = compiler.column(column)
        if position == layout.ts_position:
            raise compiler.error("Designated timestamp column cannot be updated", column)
        changes.append((position, compiler.value(assignment.expression, layout.types[position])))
    where = node.args.get("where")
    access = plan_access(compiler, where.this if where is not None else None)
    return UpdatePlan(table.name, params.encoders(), access, changes)


def _select(query: str, node: exp.Select, catalog: Catalog) -> SelectPlan:
    sources = node.args.get("from_") or node.args.get("from")
    if sources is None:
        return _select_constants(query, node)
    if node.args.get("joins") or not isinstance(sources.this, exp.Table):
        raise QueryError("SELECT supports one table or metadata function in FROM", query=query, position=1)
    target: exp.Table = sources.this
    params = Params()
    if isinstance(target.this, exp.Anonymous | exp.Func):
        layout, source = _metadata_source(query, target.this, catalog)
        compiler = ExpressionCompiler(query, layout, params)
        access = Access()
        if (where := node.args.get("where")) is not None:
            access.residual = compiler.predicate(where.this)
    else:
        store = catalog.store(target.name.lower())
        if store is None:
            raise QueryError(f"table does not exist [table={target.name}]", query=query,
                             position=position_of(query, target))
        layout = table_layout(store.table)
        compiler = ExpressionCompiler(query, layout, params)
        where = node.args.get("where")
        access = plan_access(compiler, where.this if where is not None else None)
        source = _table_source(store.name, access, query)
    outputs, aggregates, projector = _outputs(compiler, node.expressions)
    index = _column_index(outputs)
    order, natural = _order(compiler, node.args.get("order"), outputs, aggregates is not None)
    limit_node = node.args.get("limit")
    offset_node = node.args.get("offset")  # only ``LIMIT lo, hi`` gets here: OFFSET is refused
    limit = compiler.value(limit_node.expression, "LONG") if limit_node is not None else None
    low = compiler.value(offset_node.expression, "LONG") if offset_node is not None else None
    return SelectPlan(
        encoders=params.encoders(), source=source, residual=access.residual, outputs=outputs, index=index,
        order=order, natural=natural, aggregates=aggregates, projector=projector, limit=limit, low=low,
    )


def _select_constants(query: str, node: exp.Select) -> SelectPlan:
    """``SELECT version()``, ``SELECT 1``: one row computed from nothing."""
    params = Params()
    compiler = ExpressionCompiler(query, Layout("", (), ()), params)
    outputs, aggregates, _ = _outputs(compiler, node.expressions)
    if aggregates is not None:
        raise QueryError("aggregates need a FROM clause", query=query, position=1)
    one_row: list[list[Any]] = [[]]
    return SelectPlan(
        encoders=params.encoders(), source=lambda catalog, args: (one_row, 0, 1), residual=None,
        outputs=outputs, index=_column_index(outputs), order=[], natural="asc",
        aggregates=None, projector=None, limit=None, low=None,
    )


def _table_source(name: str, access: Access, query: str) -> Callable[[Catalog, Sequence[Any]], Any]:
    def source(catalog: Catalog, args: Sequence[Any]) -> tuple[list[list[Any]], int, int]:
        store = catalog.store(name)
        if store is None:
            raise QueryError(f"table does not exist [table={name}]", query=query, position=1)
        run, start, stop = _candidates(store, access, args)
        return run.rows, start, stop

    return source


def _metadata_source(query: str, call: exp.Expression, catalog: Catalog) -> tuple[Layout, Any]:
    name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
    layout = _METADATA.get(name)
    if layout is None:
        raise QueryError(f"unknown function name: {name}", query=query, position=position_of(query, call))
    arguments = [argument.name for argument in call.expressions]
    if name == "table_columns":
        if len(arguments) != 1:
            raise QueryError("table_columns() takes one table name", query=query, position=1)
        table_name = arguments[0].lower()
        _table_columns(catalog, table_name, query, call)  # fail at compile time too, like the server
        return layout, lambda cat, args: _all(_table_columns(cat, table_name, query, call))
    rows_of = _tables if name == "tables" else _wal_tables
    return layout, lambda cat, args: _all(rows_of(cat))


def _all(rows: list[list[Any]]) -> tuple[list[list[Any]], int, int]:
    return rows, 0, len(rows)


def _column_index(outputs: list[tuple[str, Fn]]) -> dict[str, int]:
    """Result column names -> positions; a repeated name gets a number, as QuestDB does
    (``SELECT min(price), min(volume)`` answers ``min`` and ``min1``)."""
    index: dict[str, int] = {}
    for at, (name, _) in enumerate(outputs):
        unique, number = name, 0
        while unique in index:
            number += 1
            unique = f"{name}{number}"
        index[unique] = at
    return index


def _output_name(node: exp.Expression, layout: Layout) -> str:
    if isinstance(node, exp.Alias):
        return node.alias
    if isinstance(node, exp.CurrentVersion):
        return "version"
    if isinstance(node, exp.Column):
        name = node.name.lower()
        return _DISPLAY_NAMES.get(name, name) if layout.name in _METADATA else name
    if type(node) in _AGGREGATES:
        return _AGGREGATES[type(node)]
    return node.sql()


def _outputs(compiler: ExpressionCompiler, nodes: list[exp.Expression]) -> tuple[
        list[tuple[str, Fn]], list[tuple[str, Fn | None]] | None, Callable[[Sequence[Any]], tuple[Any, ...]] | None]:
    """Output names and values; the folds when any output is an aggregate; and a fast
    projector (``tuple`` or an itemgetter) when every output is a plain column."""
    layout = compiler.layout
    expanded: list[exp.Expression] = []
    for node in nodes:
        if isinstance(node, exp.Star):
            expanded.extend(exp.column(name) for name in layout.columns)
        else:
            expanded.append(node)
    outputs: list[tuple[str, Fn]] = []
    folds: list[tuple[str, Fn | None]] = []
    for node in expanded:
        inner = node.this if isinstance(node, exp.Alias) else node
        name = _output_name(node, layout)
        aggregate = _AGGREGATES.get(type(inner))
        if aggregate is None:
            value = compiler.value(inner)
            folds.append(("", value))
            outputs.append((name, value))
        else:
            argument = inner.this
            folds.append((aggregate, None if argument is None or isinstance(argument, exp.Star)
                          else compiler.value(argument)))
            outputs.append((name, operator.itemgetter(len(outputs))))
    if any(name for name, _ in folds):
        return [(name, operator.itemgetter(at)) for at, (name, _) in enumerate(outputs)], folds, None
    return outputs, None, _projector(compiler, expanded)


def _projector(compiler: ExpressionCompiler, nodes: list[exp.Expression]) -> Callable[
        [Sequence[Any]], tuple[Any, ...]] | None:
    if not all(isinstance(node, exp.Column) for node in nodes):
        return None
    positions = [compiler.column(node) for node in nodes]  # type: ignore[arg-type]
    if positions == list(range(len(compiler.layout.columns))):
        return tuple
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return operator.itemgetter(*positions)


def _order(compiler: ExpressionCompiler, order: exp.Order | None, outputs: list[tuple[str, Fn]],
           aggregated: bool) -> tuple[list[tuple[Fn, bool]], str | None]:
    """Sort keys, and whether they are simply the stored order (so no sort is needed)."""
    layout = compiler.layout
    if order is None:
        return [], "asc"
    keys: list[tuple[Fn, bool]] = []
    by_name = {name.lower(): at for at, (name, _) in enumerate(outputs)}
    for term in order.expressions:
        node, descending = term.this, bool(term.args.get("desc"))
        if aggregated or (isinstance(node, exp.Column) and layout.find(node.name) is None
                          and node.name.lower() in by_name):
            if not isinstance(node, exp.Column) or node.name.lower() not in by_name:
                raise compiler.error(f"Invalid column: {node.sql()}", node)
            keys.append((_output_key(by_name[node.name.lower()], aggregated, outputs), descending))
        else:
            keys.append((compiler.value(node), descending))
    terms = order.expressions
    if (len(terms) == 1 and isinstance(terms[0].this, exp.Column) and not aggregated
            and layout.ts_position is not None and layout.find(terms[0].this.name) == layout.ts_position):
        return keys, "desc" if keys[0][1] else "asc"
    return keys, None


def _output_key(position: int, aggregated: bool, outputs: list[tuple[str, Fn]]) -> Fn:
    if aggregated:
        return lambda row, args: row[position]
    value = outputs[position][1]
    return value
