"""One table's applied rows, kept the way QuestDB keeps them: ordered by the designated
timestamp, deduplicated on the upsert keys, with an index per SYMBOL column.

Rows are lists in column order.  Two structures answer the replay's hot query
(``symbol = $1 AND timestamp >= $2 AND timestamp < $3 ORDER BY timestamp LIMIT lo, hi``)
without scanning: a :class:`Run` per SYMBOL value holds that value's rows in timestamp order
next to a parallel list of timestamps, so a batch is two bisections and one slice.  The
whole table is one more run.  Equal timestamps keep insertion order (``bisect_right``).

Dedup follows ``questdb-facts.md``: last write wins, and NULL matches NULL, because the key
is a plain tuple of the key columns' values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import Any

from contracts.schema import Column, Table


@dataclass(slots=True)
class Run:
    """Rows in designated-timestamp order with their timestamps alongside, for bisection."""

    keys: list[Any] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, key: Any, row: list[Any]) -> None:
        if key is None or not self.keys or self.keys[-1] <= key:
            self.keys.append(key)
            self.rows.append(row)
            return
        at = bisect_right(self.keys, key)
        self.keys.insert(at, key)
        self.rows.insert(at, row)

    def remove(self, key: Any, row: list[Any]) -> None:
        """Remove ``row`` (by identity) filed under ``key``."""
        if key is None:
            start, stop = 0, len(self.rows)
        else:
            start, stop = bisect_left(self.keys, key), bisect_right(self.keys, key)
        for at in range(start, stop):
            if self.rows[at] is row:
                del self.keys[at]
                del self.rows[at]
                return
        raise AssertionError("row missing from its run")  # an invariant of this module

    def span(self, low: Any, low_inclusive: bool, high: Any, high_inclusive: bool) -> tuple[int, int]:
        """Positions ``[start, stop)`` of rows whose timestamp lies within the bounds (None = open)."""
        start = 0
        stop = len(self.keys)
        if low is not None:
            start = (bisect_left if low_inclusive else bisect_right)(self.keys, low)
        if high is not None:
            stop = (bisect_right if high_inclusive else bisect_left)(self.keys, high)
        return start, max(start, stop)


class TableStore:
    """The applied state of one table.  Column layout follows the table as last synced."""

    def __init__(self, table: Table) -> None:
        self.name = table.name
        self.wal = table.wal
        self._defs: list[Column] = []
        self.columns: list[str] = []
        self.types: list[str] = []
        self.all = Run()
        self.by_symbol: dict[int, dict[Any, Run]] = {}
        self.dedup: dict[tuple[Any, ...], list[Any]] = {}
        self.ts_position: int | None = None
        self.dedup_positions: tuple[int, ...] = ()
        self.sequencer_txn = 0
        """Transactions acknowledged (what ``wal_tables()`` calls sequencerTxn)."""
        self.writer_txn = 0
        """Transactions applied and visible (writerTxn)."""
        self.suspended: str | None = None
        """Why the WAL stopped applying to this table (``wal_tables().suspended``), or None."""
        self.sync(table)

    # --- layout -------------------------------------------------------------------------------

    def sync(self, table: Table) -> None:
        """Adopt the table's current columns (after ALTER TABLE): added columns are NULL in
        existing rows, dropped ones disappear, renamed ones keep their values."""
        carried = _carry_positions(self._defs, list(table.columns.values()))
        if [col.name for col in self._defs] != list(table.columns) or carried != list(range(len(carried))):
            for row in self.all.rows:
                row[:] = [None if at is None else row[at] for at in carried]
        self._defs = list(table.columns.values())
        self.table = replace(table, columns=dict(table.columns))
        """A snapshot: later ALTERs of the schema reach this store only through ``sync``."""
        self.columns = list(table.columns)
        self.types = [column.type for column in self._defs]
        self.ts_position = (self.columns.index(table.designated_timestamp)
                            if table.designated_timestamp else None)
        self.dedup_positions = tuple(self.columns.index(key) for key in table.dedup_keys)
        self._dedup_getter = _tuple_getter(self.dedup_positions)
        self._reindex()

    def _reindex(self) -> None:
        symbols = [at for at, kind in enumerate(self.types) if kind == "SYMBOL"]
        self.by_symbol = {at: {} for at in symbols}
        self.dedup = {}
        for key, row in zip(self.all.keys, self.all.rows, strict=True):
            for at, runs in self.by_symbol.items():
                runs.setdefault(row[at], Run()).add(key, row)
            if self.dedup_positions:
                self.dedup[self._dedup_getter(row)] = row

    def _key(self, row: list[Any]) -> Any:
        return None if self.ts_position is None else row[self.ts_position]

    # --- writes -------------------------------------------------------------------------------

    def insert(self, row: list[Any]) -> None:
        """Add a complete row, or overwrite the row with the same dedup key (last write wins)."""
        if self.dedup_positions:
            dedup_key = self._dedup_getter(row)
            existing = self.dedup.get(dedup_key)
            if existing is not None:
                self.assign(existing, dict(enumerate(row)))
                return
            self.dedup[dedup_key] = row
        key = self._key(row)
        self.all.add(key, row)
        for at, runs in self.by_symbol.items():
            run = runs.get(row[at])
            if run is None:
                run = runs[row[at]] = Run()
            run.add(key, row)

    def load(self, rows: list[list[Any]]) -> None:
        """Insert ``rows`` (complete, encoded) with the result of inserting them one by one.

        Into an empty table, rows already in timestamp order with distinct dedup keys (a bulk
        load of generated data) are filed in a few passes instead of a bisection per row;
        anything else takes the row-by-row path.
        """
        at = self.ts_position
        if self.all.rows or at is None:
            self.bulk_insert(rows)
            return
        keys = list(map(itemgetter(at), rows))
        try:
            ordered = keys == sorted(keys)
        except TypeError:  # mixed or NULL timestamps: let insert() order them
            ordered = False
        dedup: dict[tuple[Any, ...], list[Any]] = {}
        if ordered and self.dedup_positions:
            dedup = dict(zip(map(self._dedup_getter, rows), rows, strict=True))
        if not ordered or (self.dedup_positions and len(dedup) != len(rows)):
            self.bulk_insert(rows)
            return
        self.all = Run(keys, list(rows))
        self.dedup = dedup
        for position, runs in self.by_symbol.items():
            values = list(map(itemgetter(position), rows))
            for value in dict.fromkeys(values):  # first-appearance order, as insert() creates runs
                chosen = list(map(eq, values, repeat(value)))
                runs[value] = Run(list(compress(keys, chosen)), list(compress(rows, chosen)))

    def bulk_insert(self, rows: Iterable[list[Any]]) -> int:
        count = 0
        for row in rows:
            self.insert(row)
            count += 1
        return count

    def delete(self, row: list[Any]) -> None:
        """Remove a stored row (by identity) and its index entries (the simulated PostgreSQL's
        DELETE; QuestDB has none)."""
        key = self._key(row)
        self.all.remove(key, row)
        for at, runs in self.by_symbol.items():
            runs[row[at]].remove(key, row)
        if self.dedup_positions and self.dedup.get(self._dedup_getter(row)) is row:
            del self.dedup[self._dedup_getter(row)]

    def assign(self, row: list[Any], changes: dict[int, Any]) -> None:
        """Change columns of a stored row in place, keeping the indexes in step.

        The designated timestamp never changes here (UPDATE rejects it; dedup keys include it).
        """
        key = self._key(row)
        moved = [at for at in changes if at in self.by_symbol and changes[at] != row[at]]
        for at in moved:
            self.by_symbol[at][row[at]].remove(key, row)
        rekey = self.dedup_positions and any(at in changes for at in self.dedup_positions)
        if rekey and self.dedup.get(self._dedup_getter(row)) is row:
            del self.dedup[self._dedup_getter(row)]
        for at, value in changes.items():
            row[at] = value
        if rekey:
            self.dedup[self._dedup_getter(row)] = row
        for at in moved:
            self.by_symbol[at].setdefault(row[at], Run()).add(key, row)

    # --- reads --------------------------------------------------------------------------------

    def run_for(self, symbol_position: int | None, value: Any) -> Run:
        """The rows to scan: all of them, or only those whose SYMBOL column equals ``value``."""
        if symbol_position is None:
            return self.all
        return self.by_symbol[symbol_position].get(value) or Run()

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.all.rows]


def _tuple_getter(positions: tuple[int, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    if len(positions) < 2:
        return lambda row: tuple(row[at] for at in positions)
    return itemgetter(*positions)  # type: ignore[return-value]  # a tuple for two or more


def _carry_positions(old: list[Column], new: list[Column]) -> list[int | None]:
    """For each new column, its position among the old ones (None: added).

    A column renamed by ``ALTER TABLE RENAME COLUMN`` keeps its definition (type and source
    line) under a new name, which is how it is recognised here.
    """
    by_name = {column.name: at for at, column in enumerate(old)}
    new_names = {column.name for column in new}
    carried: list[int | None] = []
    for column in new:
        at = by_name.get(column.name)
        if at is None:
            renamed = [i for i, previous in enumerate(old) if previous.name not in new_names
                       and (previous.type, previous.source) == (column.type, column.source)]
            at = renamed[0] if len(renamed) == 1 else None
        carried.append(at)
    return carried
