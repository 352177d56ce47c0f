"""LiveMarketDataSource, the data source of paper and live sessions: seq per symbol, reconnects
after a dropped stream without replaying old ticks, and refuses ticks it did not ask for."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from sim.world.ports import VirtualClock
from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.data.live import LiveMarketDataSource
from system.errors import MarketFeedError
from system.ports import Tick

EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
NO_BACKOFF = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def tick(symbol: str, second: int) -> Tick:
    return Tick(symbol, EPOCH + timedelta(seconds=second), 100.0 + second, 1.0, 100.0 + second)


class ScriptedFeed:
    """Each call to ``stream`` plays the next script; a script may end by dropping the stream."""

    def __init__(self, *scripts: tuple[list[Tick], bool]) -> None:
        self._scripts = list(scripts)
        self.opened = 0

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        ticks, drops = self._scripts[self.opened]
        self.opened += 1
        for item in ticks:
            yield item
        if drops:
            raise ConnectionResetError("stream dropped")


async def consume(feed: ScriptedFeed, symbols: tuple[str, ...] = ("BTC_USDT", "ETH_USDT"),
                  source: str = "paper") -> tuple[LiveMarketDataSource, list[dict[str, Any]]]:
    bus = EventBus()
    seen: list[dict[str, Any]] = []

    async def record(payload: dict[str, Any]) -> None:
        seen.append(payload)

    await bus.subscribe(topics.MARKET_PRICE_UPDATE, record, component="Test", role="indicators")
    live = LiveMarketDataSource(bus, feed, VirtualClock(EPOCH), session_id="s1", symbols=symbols, source=source,
                                reconnect=NO_BACKOFF)
    async with anyio.create_task_group() as task_group:
        await live.start(task_group)
        await live.done.wait()
    return live, seen


@pytest.mark.anyio
async def test_ticks_become_price_updates_with_seq_per_symbol() -> None:
    feed = ScriptedFeed(([tick("BTC_USDT", 0), tick("ETH_USDT", 0), tick("BTC_USDT", 1)], False))
    live, seen = await consume(feed, source="live")
    assert [(p["symbol"], p["seq"]) for p in seen] == [("BTC_USDT", 0), ("ETH_USDT", 0), ("BTC_USDT", 1)]
    assert seen[2] == {"session_id": "s1", "symbol": "BTC_USDT", "price": 101.0, "volume": 1.0,
                       "quote_volume": 101.0, "timestamp": EPOCH.timestamp() + 1, "seq": 1, "source": "live"}
    assert live.rows_published == {"BTC_USDT": 2, "ETH_USDT": 1}


@pytest.mark.anyio
async def test_a_dropped_stream_is_reopened_without_replaying_old_ticks() -> None:
    feed = ScriptedFeed(
        ([tick("BTC_USDT", 0), tick("BTC_USDT", 1)], True),
        ([tick("BTC_USDT", 0), tick("BTC_USDT", 1), tick("BTC_USDT", 2)], False),  # replays its past
    )
    live, seen = await consume(feed)
    assert feed.opened == 2
    assert [p["timestamp"] - EPOCH.timestamp() for p in seen] == [0, 1, 1, 2]  # same-time tick kept
    assert [p["seq"] for p in seen] == [0, 1, 2, 3]
    assert live.ticks_skipped == 1


@pytest.mark.anyio
async def test_a_stream_that_keeps_dropping_fails_naming_the_session() -> None:
    feed = ScriptedFeed(*[([], True)] * NO_BACKOFF.attempts)
    with pytest.raises(BaseExceptionGroup) as caught:
        await consume(feed)
    [error] = caught.value.exceptions
    assert isinstance(error, MarketFeedError) and "session s1" in str(error) and "3 times" in str(error)


@pytest.mark.anyio
async def test_a_tick_for_another_symbol_is_refused() -> None:
    feed = ScriptedFeed(([tick("DOGE_USDT", 0)], False))
    with pytest.raises(BaseExceptionGroup) as caught:
        await consume(feed)
    assert "DOGE_USDT" in str(caught.value.exceptions[0])


def test_source_must_be_paper_or_live() -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        LiveMarketDataSource(EventBus(), ScriptedFeed(), VirtualClock(EPOCH), session_id="s1",
                             symbols=("BTC_USDT",), source="historical")
