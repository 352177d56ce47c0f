"""Indicators, default strategies and the backtest order manager on the simulator's market
data: the defaults trade, and every actionable signal ends in a recorded outcome."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import cache

import anyio
import pytest

from sim.world.market import generate
from sim.world.ports import SeededIds, SeededRandom, VirtualClock
from system import topics
from system.bus import EventBus
from system.indicators import StreamingIndicatorEngine, default_indicator_specs
from system.orders import BacktestOrderManager
from system.strategy import StrategyManager, default_strategies
from tests.system.bus_recorder import Recorder

OUTCOMES = (topics.ORDER_CREATED, topics.ORDER_REJECTED, topics.ORDER_CANCELLED)


@cache
def price_updates(seed: int) -> tuple[dict, ...]:
    ticks = generate(["BTC_USDT", "ETH_USDT", "SOL_USDT"], start=datetime(2025, 1, 6, tzinfo=UTC), hours=2,
                     seed=seed)
    return tuple({"session_id": "bt", "symbol": t.symbol, "price": t.price, "volume": t.volume,
                  "quote_volume": t.quote_volume, "timestamp": t.timestamp.timestamp(), "seq": i,
                  "source": "historical"} for i, t in enumerate(ticks))


async def backtest(seed: int) -> tuple[Recorder, BacktestOrderManager]:
    bus = EventBus()
    ids = SeededIds()
    components = (
        StreamingIndicatorEngine(bus, session_id="bt", specs=default_indicator_specs()),
        StrategyManager(bus, ids, VirtualClock(), session_id="bt", strategies=default_strategies()),
        BacktestOrderManager(bus, ids, VirtualClock(), SeededRandom(seed), session_id="bt",
                             initial_balance=10_000.0, fee_rate=0.0004, slippage_pct=0.0005),
    )
    for component in components:
        await component.start()
    recorder = await Recorder().attach(bus, topics.SIGNAL_GENERATED, *OUTCOMES, topics.ORDER_FILLED,
                                       topics.POSITION_OPENED, topics.POSITION_CLOSED)
    for update in price_updates(seed):
        await bus.publish(topics.MARKET_PRICE_UPDATE, update)
    for component in components:
        await component.stop()
    assert recorder.errors == []
    return recorder, components[2]


@pytest.mark.parametrize("seed", [0, 3])
def test_default_strategies_trade_every_signal_type_on_simulated_data(seed: int) -> None:
    recorder, manager = anyio.run(backtest, seed)
    signals = recorder.of(topics.SIGNAL_GENERATED)
    kinds = Counter((s["signal_type"], s["action"]) for s in signals)
    assert {"S1", "Z1", "ZE1", "E1"} <= {kind for kind, _ in kinds}, kinds
    assert kinds[("S1", "CANCEL")] > 0, kinds
    assert len(recorder.of(topics.POSITION_CLOSED)) >= 2
    actionable = [s["signal_id"] for s in signals if s["signal_type"] != "S1" or s["action"] == "CANCEL"]
    outcomes = Counter(e["signal_id"] for topic in OUTCOMES for e in recorder.of(topic))
    assert [outcomes[signal_id] for signal_id in actionable] == [1] * len(actionable)
    assert all(payload["session_id"] == "bt" for _, payload in recorder.events)
    fees = sum(fill["commission"] for fill in recorder.of(topics.ORDER_FILLED))
    realized = sum(closed["realized_pnl"] for closed in recorder.of(topics.POSITION_CLOSED))
    assert manager.account()["balance"] == pytest.approx(10_000.0 + realized - fees)


def test_the_same_data_gives_the_same_events_on_asyncio_and_trio() -> None:
    on_asyncio, _ = anyio.run(backtest, 1, backend="asyncio")
    on_trio, _ = anyio.run(backtest, 1, backend="trio")
    assert on_asyncio.events == on_trio.events
