"""LiveMarketDataSource: publishes a live-like MarketFeed's ticks for a paper or live session.

The feed paces itself (by the real clock in production, the virtual one in simulation); this
source only turns ticks into ``market.price_update`` events with ``seq`` counted per symbol.

A stream that drops (``ConnectionError``) is reopened after a backoff on the Clock, up to
``reconnect.attempts`` times in a row; a tick older than the last one published for its symbol
(a reopened stream replaying its recent past) is not published again but counted in
``ticks_skipped``, so indicators never see time run backwards.  A tick for a symbol the
session did not ask for is a feed bug and fails the session.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import anyio
from anyio.abc import TaskGroup, TaskStatus

from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.errors import MarketFeedError
from system.ports import Clock, MarketFeed, Tick

log = logging.getLogger(__name__)

SOURCES = ("paper", "live")


class LiveMarketDataSource:
    def __init__(self, bus: EventBus, feed: MarketFeed, clock: Clock, *, session_id: str,
                 symbols: Sequence[str], source: str = "paper", reconnect: RetryPolicy | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"LiveMarketDataSource({session_id}): source must be one of {SOURCES}, got {source!r}")
        if not symbols:
            raise ValueError(f"LiveMarketDataSource({session_id}): symbols must not be empty")
        self._bus = bus
        self._feed = feed
        self._clock = clock
        self._reconnect = reconnect or RetryPolicy()
        self.session_id = session_id
        self.symbols = tuple(symbols)
        self.source = source
        self._last_timestamp: dict[str, float] = {}
        self._scope: anyio.CancelScope | None = None
        self.rows_published: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.ticks_skipped = 0
        self.done = anyio.Event()
        """Set when the feed ends by itself (not when stopped)."""

    async def start(self, task_group: TaskGroup) -> None:
        """Consume the feed in the background of ``task_group``."""
        await task_group.start(self._run)

    async def stop(self) -> None:
        """Stop consuming (idempotent)."""
        if self._scope is not None:
            self._scope.cancel()

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as self._scope:
            task_status.started()
            drops = 0
            while True:
                try:
                    async for tick in self._feed.stream(self.symbols):
                        drops = 0
                        await self._publish(tick)
                    break
                except ConnectionError as error:
                    drops += 1
                    if drops >= self._reconnect.attempts:
                        raise MarketFeedError(self.session_id, f"stream dropped {drops} times in a row") from error
                    delay = self._reconnect.delay(drops)
                    log.warning("feed.reconnect session_id=%s drop=%d delay=%.3fs error=%s",
                                self.session_id, drops, delay, error)
                    await self._clock.sleep(delay)
            self.done.set()
            log.info("feed.done session_id=%s rows_published=%s skipped=%d",
                     self.session_id, self.rows_published, self.ticks_skipped)

    async def _publish(self, tick: Tick) -> None:
        symbol = tick.symbol
        seq = self.rows_published.get(symbol)
        if seq is None:
            raise MarketFeedError(self.session_id, f"tick for {symbol!r}, not one of {self.symbols}")
        timestamp = tick.timestamp.timestamp()
        if timestamp < self._last_timestamp.get(symbol, timestamp):
            self.ticks_skipped += 1
            return
        self._last_timestamp[symbol] = timestamp
        self.rows_published[symbol] = seq + 1
        await self._bus.publish(topics.MARKET_PRICE_UPDATE, {
            "session_id": self.session_id, "symbol": symbol, "price": tick.price, "volume": tick.volume,
            "quote_volume": tick.quote_volume, "timestamp": timestamp, "seq": seq, "source": self.source,
        })
