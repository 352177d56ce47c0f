"""A tiny in-test stand-in for the Database port, for the system's unit tests.

It serves the historical replay's two statements from in-memory ``market_data`` and logs
every other statement instead of applying it.  Two knobs make it useful for concurrency:
``max_yields`` makes each call yield to the scheduler a seeded-random number of times, so
concurrent fetches complete out of order; ``fail(match, times)`` makes the next ``times``
statements containing ``match`` raise ``TransientDatabaseError``.  It is as strict as
asyncpg where the system could get it wrong: TIMESTAMP parameters must be naive datetimes
and the number of arguments must match the ``$n`` placeholders.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import anyio

from system.persistence import statements as sql
from system.ports import DataError, QueryError, TransientDatabaseError

MarketRow = tuple[datetime, float, float, float | None]


class FakeDatabase:
    def __init__(self, *, seed: int = 0, max_yields: int = 0) -> None:
        self.market_data: dict[str, list[MarketRow]] = {}
        self.writes: list[tuple[str, tuple[Any, ...]]] = []
        """Statements other than the replay's reads, in the order they succeeded."""
        self.calls = 0
        self.fetched: dict[str, int] = {}
        """Rows handed out per symbol by the batch query."""
        self._faults: list[list[Any]] = []
        self._rng = random.Random(seed)
        self._max_yields = max_yields

    def add_rows(self, symbol: str, rows: list[MarketRow]) -> None:
        self.market_data.setdefault(symbol, []).extend(rows)
        self.market_data[symbol].sort(key=lambda row: row[0])

    def fail(self, match: str, times: int, error: type[Exception] = TransientDatabaseError) -> None:
        self._faults.append([match, times, error])

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection(self)

    async def run(self, query: str, args: tuple[Any, ...]) -> Any:
        self.calls += 1
        for _ in range(self._rng.randint(0, self._max_yields)):
            await anyio.lowlevel.checkpoint()
        _check_args(query, args)
        for fault in self._faults:
            if fault[1] > 0 and fault[0] in query:
                fault[1] -= 1
                raise fault[2](f"injected fault for {fault[0]!r}")
        if query == sql.SELECT_WAL_STATE:
            return []  # every table applying
        if query == sql.COUNT_MARKET_DATA:
            return len(self._select(*args))
        if query == sql.SELECT_MARKET_DATA_BATCH:
            symbol, start, end, lo, hi = args
            rows = self._select(symbol, start, end)[lo:hi]
            self.fetched[symbol] = self.fetched.get(symbol, 0) + len(rows)
            return rows
        self.writes.append((query, args))
        return "OK"

    def _select(self, symbol: str, start: datetime, end: datetime) -> list[MarketRow]:
        return [row for row in self.market_data.get(symbol, []) if start <= row[0] < end]


class FakeConnection:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def execute(self, query: str, *args: Any) -> str:
        return await self._db.run(query, args)

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        return await self._db.run(query, args)

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        return await self._db.run(query, args)


def _check_args(query: str, args: tuple[Any, ...]) -> None:
    placeholders = {int(n) for n in re.findall(r"\$(\d+)", query)}
    if placeholders != set(range(1, len(args) + 1)):
        raise QueryError(f"{len(args)} arguments for placeholders {sorted(placeholders)}", query=query)
    for arg in args:
        if isinstance(arg, datetime) and arg.tzinfo is not None:
            raise DataError("can't subtract offset-naive and offset-aware datetimes")


def columns_of(statement: str) -> list[str]:
    """The column list of an ``INSERT INTO t (a, b) VALUES ...``."""
    match = re.search(r"\(([^)]*)\)\s*VALUES", statement)
    assert match, statement
    return [name.strip() for name in match.group(1).split(",")]
