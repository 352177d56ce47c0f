"""QuestDBHistoricalDataSource: replays ``market_data`` for one backtest session.

Each symbol is read with a row cursor (``LIMIT lo, hi`` pages of ``batch_size`` rows in
timestamp order) by ``prefetch`` workers running concurrently, and one merger publishes the
rows of all symbols as ``market.price_update`` in ``(timestamp, symbol)`` order (a k-way
merge).  Every row between ``start`` (inclusive) and ``end`` (exclusive) is published exactly
once, in order, with ``seq`` = its row index within its symbol.

Lock discipline (the seed report's defect 6 was a cursor shared by concurrent fetches without
a lock, so two fetches could read the same offset):

- One ``anyio.Lock``, ``self._lock``, guards every symbol's ``cursor`` and ``pending`` queue.
- A worker *reserves* a batch entirely under the lock: it reads the cursor, advances it past
  the batch and appends the batch's slot to ``pending``, with no await in between.  Only then,
  outside the lock, does it await the fetch and fill the slot.  So no two workers can ever
  reserve the same rows, whatever the interleaving, and ``pending`` is in cursor order even
  when the fetches complete out of order.
- The merger takes slots from ``pending`` (under the lock) in that order and waits for each
  to be filled, so batches are delivered in cursor order.
- Memory is bounded by a per-symbol semaphore of ``prefetch + 1`` permits: a worker takes a
  permit *before* taking the lock (never while holding it) and the merger returns it when it
  has published the batch.  At most ``(prefetch + 1) * batch_size`` rows per symbol are held.

A ``TransientDatabaseError`` is retried per ``retry`` (backoff on the Clock); then, or on any
other database error, a short batch or a row without a price, the replay fails with
``HistoricalDataError`` and the owning session fails: a backtest over a hole in its data
would report results for a market that never happened.  A NULL ``quote_volume`` (rows loaded
before migration 006) is published as ``price * volume``, the turnover it stands for.
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.errors import HistoricalDataError
from system.persistence import statements as sql
from system.persistence.retry import retry_transient
from system.persistence.timestamps import aware_to_db_timestamp, from_db_timestamp
from system.ports import Clock, Database, DatabaseError

log = logging.getLogger(__name__)

Row = tuple[float, float, float, float]
"""A decoded market-data row: (timestamp epoch seconds, price, volume, quote_volume)."""


class _Batch:
    """One reserved range of a symbol's rows, ``[lo, hi)``; ``rows`` is set when fetched."""

    __slots__ = ("filled", "hi", "lo", "rows")

    def __init__(self, lo: int, hi: int) -> None:
        self.lo = lo
        self.hi = hi
        self.rows: list[Row] = []
        self.filled = anyio.Event()


class _SymbolReplay:
    """Replay state of one symbol.  ``cursor``, ``pending`` and ``waiter`` are guarded by the lock."""

    __slots__ = ("base", "cursor", "pending", "permits", "pos", "rows", "symbol", "total", "waiter")

    def __init__(self, symbol: str, total: int, permits: int) -> None:
        self.symbol = symbol
        self.total = total
        self.cursor = 0
        self.pending: deque[_Batch] = deque()
        self.waiter: anyio.Event | None = None
        self.permits = anyio.Semaphore(permits)
        # the merger's position: the batch being published, its first row index, next row
        self.rows: list[Row] = []
        self.base = 0
        self.pos = 0


class QuestDBHistoricalDataSource:
    source = "historical"

    def __init__(self, bus: EventBus, database: Database, *, session_id: str, symbols: Sequence[str],
                 start: datetime, end: datetime, batch_size: int, prefetch: int = 2, clock: Clock,
                 retry: RetryPolicy | None = None) -> None:
        if not symbols:
            raise ValueError(f"QuestDBHistoricalDataSource({session_id}): symbols must not be empty")
        if batch_size < 1 or prefetch < 1:
            raise ValueError(f"QuestDBHistoricalDataSource({session_id}): batch_size and prefetch must be >= 1,"
                             f" got {batch_size} and {prefetch}")
        self._bus = bus
        self._database = database
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self.session_id = session_id
        self.symbols = tuple(symbols)
        self._start = aware_to_db_timestamp(start)
        self._end = aware_to_db_timestamp(end)
        self._batch_size = batch_size
        self._prefetch = prefetch
        self._lock = anyio.Lock()
        self._replays: list[_SymbolReplay] = []
        self._scope: anyio.CancelScope | None = None
        self._stopped = False
        self.row_counts: dict[str, int] = {}
        self.rows_published: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.done = anyio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, task_group: TaskGroup) -> None:
        """Count each symbol's rows, then replay in the background of ``task_group``."""
        await task_group.start(self._run)

    async def stop(self) -> None:
        """Stop replaying (idempotent).  Rows already published stay published."""
        self._stopped = True
        if self._scope is not None:
            self._scope.cancel()

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        started = False
        with anyio.CancelScope() as self._scope:
            for symbol in self.symbols:
                total = await self._count(symbol)
                self.row_counts[symbol] = total
                self._replays.append(_SymbolReplay(symbol, total, self._prefetch + 1))
            log.info("replay.start session_id=%s rows=%s batch_size=%d prefetch=%d",
                     self.session_id, self.row_counts, self._batch_size, self._prefetch)
            task_status.started()
            started = True
            if self._stopped:
                return
            async with anyio.create_task_group() as workers:
                for replay in self._replays:
                    for _ in range(self._prefetch):
                        workers.start_soon(self._prefetch_worker, replay)
                await self._merge()
            self.done.set()
            log.info("replay.done session_id=%s rows_published=%s", self.session_id, self.rows_published)
        if not started:  # stopped while counting: release start() all the same
            task_status.started()

    # -- workers: reserve under the lock, then fetch --------------------------------------------

    async def _prefetch_worker(self, replay: _SymbolReplay) -> None:
        while True:
            await replay.permits.acquire()
            async with self._lock:
                lo = replay.cursor
                if lo >= replay.total:
                    replay.permits.release()
                    return
                hi = min(lo + self._batch_size, replay.total)
                replay.cursor = hi
                batch = _Batch(lo, hi)
                replay.pending.append(batch)
                if replay.waiter is not None:
                    replay.waiter.set()
                    replay.waiter = None
            batch.rows = await self._fetch(replay.symbol, lo, hi)
            batch.filled.set()

    async def _count(self, symbol: str) -> int:
        async def query() -> Any:
            async with self._database.acquire() as connection:
                return await connection.fetchval(sql.COUNT_MARKET_DATA, symbol, self._start, self._end)

        try:
            total = await retry_transient(query, policy=self._retry, clock=self._clock, what=f"count {symbol}")
        except DatabaseError as error:
            raise HistoricalDataError(symbol, f"counting rows failed: {error}") from error
        if not isinstance(total, int) or total < 0:
            raise HistoricalDataError(symbol, f"count() returned {total!r}, expected a non-negative integer")
        return total

    async def _fetch(self, symbol: str, lo: int, hi: int) -> list[Row]:
        async def query() -> Any:
            async with self._database.acquire() as connection:
                return await connection.fetch(sql.SELECT_MARKET_DATA_BATCH, symbol, self._start, self._end, lo, hi)

        try:
            records = await retry_transient(query, policy=self._retry, clock=self._clock,
                                            what=f"rows {lo}..{hi} of {symbol}")
        except DatabaseError as error:
            raise HistoricalDataError(symbol, f"fetching rows {lo}..{hi} failed: {error}") from error
        if len(records) != hi - lo:
            raise HistoricalDataError(symbol, f"expected {hi - lo} rows at offset {lo}, got {len(records)}"
                                              " (did market_data change during the replay?)")
        rows: list[Row] = []
        for index, (timestamp, price, volume, quote_volume) in enumerate(records):  # records iterate values
            if timestamp is None or price is None or volume is None:
                raise HistoricalDataError(symbol, f"row {lo + index} has a NULL timestamp, price or volume")
            if quote_volume is None:
                quote_volume = price * volume
            rows.append((from_db_timestamp(timestamp), price, volume, quote_volume))
        return rows

    # -- merger: publish in (timestamp, symbol) order --------------------------------------------

    async def _next_batch(self, replay: _SymbolReplay) -> bool:
        """Move ``replay`` to its next batch in cursor order; False when the symbol is exhausted."""
        if replay.rows:
            replay.permits.release()  # the batch just published no longer occupies memory
            replay.rows = []
        while True:
            async with self._lock:
                if replay.pending:
                    batch = replay.pending.popleft()
                    break
                if replay.cursor >= replay.total:
                    return False
                waiter = replay.waiter = anyio.Event()
            await waiter.wait()
        await batch.filled.wait()
        replay.rows, replay.base, replay.pos = batch.rows, batch.lo, 0
        return True

    async def _merge(self) -> None:
        heap: list[tuple[float, str, _SymbolReplay]] = []
        for replay in self._replays:
            if await self._next_batch(replay):
                heap.append((replay.rows[0][0], replay.symbol, replay))
        heapq.heapify(heap)
        publish = self._bus.publish
        topic = topics.MARKET_PRICE_UPDATE
        session_id = self.session_id
        published = self.rows_published
        while heap:
            replay = heap[0][2]
            symbol = replay.symbol
            timestamp, price, volume, quote_volume = replay.rows[replay.pos]
            await publish(topic, {
                "session_id": session_id, "symbol": symbol, "price": price, "volume": volume,
                "quote_volume": quote_volume, "timestamp": timestamp, "seq": replay.base + replay.pos,
                "source": "historical",
            })
            published[symbol] += 1
            replay.pos += 1
            if replay.pos == len(replay.rows) and not await self._next_batch(replay):
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (replay.rows[replay.pos][0], symbol, replay))
