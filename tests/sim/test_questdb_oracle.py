"""The indexed access paths (SYMBOL runs, timestamp bisection, sliced LIMIT) return exactly
what a naive scan of the same rows returns, for random data and random queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from contracts.migrations import load_schema
from sim.world.questdb import DEFAULT_MIGRATIONS, SimQuestDB

SCHEMA = load_schema(DEFAULT_MIGRATIONS)
T0 = datetime(2025, 1, 6)
SYMBOLS = ["A", "B", "C"]

rows_strategy = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.integers(0, 30), st.floats(1, 100, allow_nan=False)),
    max_size=60,
)
bounds = st.one_of(st.none(), st.integers(-2, 32))


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, symbol=st.one_of(st.none(), st.sampled_from([*SYMBOLS, "Z"])), low=bounds, high=bounds,
       low_inclusive=st.booleans(), descending=st.booleans(),
       limit=st.one_of(st.none(), st.tuples(st.integers(0, 20), st.integers(0, 40)), st.integers(-10, 20)),
       kernel=st.sampled_from(["asyncio", "trio"]))
def test_indexed_select_equals_a_naive_scan(rows, symbol, low, high, low_inclusive, descending, limit, kernel):
    conditions, args = [], []
    if symbol is not None:
        args.append(symbol)
        conditions.append(f"symbol = ${len(args)}")
    if low is not None:
        args.append(T0 + timedelta(seconds=low))
        conditions.append(f"timestamp {'>=' if low_inclusive else '>'} ${len(args)}")
    if high is not None:
        args.append(T0 + timedelta(seconds=high))
        conditions.append(f"timestamp < ${len(args)}")
    query = "SELECT symbol, timestamp, price FROM market_data"
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    query += f" ORDER BY timestamp{' DESC' if descending else ''}"
    if isinstance(limit, tuple):
        args += list(limit)
        query += f" LIMIT ${len(args) - 1}, ${len(args)}"
    elif limit is not None:
        query += f" LIMIT {limit}"

    stored = [(s, T0 + timedelta(seconds=second), price) for s, second, price in rows]
    db = SimQuestDB(SCHEMA)

    async def main():
        async with db.acquire() as conn:
            await conn.executemany("INSERT INTO market_data (symbol, timestamp, price) VALUES ($1, $2, $3)", stored)
            return [tuple(record) for record in await conn.fetch(query, *args)]

    result = sim.run(main, kernel=kernel, detectors=False)
    result.raise_for_error()

    latest = {}
    for row in stored:  # dedup on (timestamp, symbol): the last write wins, in the first one's place
        latest.setdefault((row[1], row[0]), []).append(row)
    expected = [row for row in stored if latest[(row[1], row[0])][0] is row]
    expected = [latest[(row[1], row[0])][-1] for row in expected]
    expected.sort(key=lambda row: row[1])
    expected = [row for row in expected
                if (symbol is None or row[0] == symbol)
                and (low is None or (row[1] >= T0 + timedelta(seconds=low) if low_inclusive
                                     else row[1] > T0 + timedelta(seconds=low)))
                and (high is None or row[1] < T0 + timedelta(seconds=high))]
    if descending:
        expected.reverse()
    if isinstance(limit, tuple):
        expected = expected[limit[0]:limit[1]]
    elif limit is not None:
        expected = expected[:limit] if limit >= 0 else expected[len(expected) + limit:] if -limit < len(expected) \
            else expected
    assert result.value == expected
