"""LiveOrderManager and PositionSyncService against a scripted exchange: idempotent submission,
partial fills, exchange refusals, reconnect and resynchronisation."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from sim.world.ports import SeededIds, SeededRandom
from system import topics
from system.bus import EventBus
from system.exchange import ContractSpec, ExchangeDeal, ExchangeOrder, ExchangeRejected, ExchangeTimeout, OrderState
from system.exchange.errors import ExchangeUnavailable
from system.exchange.models import OrderType, Side
from system.orders import LiveOrderManager, external_oid
from system.ports import PushMessage
from system.sync import PositionSyncService
from tests.live.helpers import NOW, FixedClock

pytestmark = pytest.mark.anyio
SPEC = ContractSpec("SOL_USDT", contract_size=0.1, min_vol=1, max_vol=10_000, vol_unit=1, price_unit=0.001)
T = NOW.timestamp()


class InstantClock(FixedClock):
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await anyio.lowlevel.checkpoint()


class ScriptedExchange:
    """Accepts orders into ``book``; ``failures`` are raised by the next submissions, in order
    (a failure with ``accepted`` True is raised *after* the order was booked)."""

    def __init__(self, failures: list[tuple[Exception, bool]] | None = None) -> None:
        self.failures = list(failures or [])
        self.submissions: list[dict[str, Any]] = []
        self.book: dict[str, ExchangeOrder] = {}
        self.lookups = 0

    async def contract_detail(self, symbol: str) -> ContractSpec:
        return SPEC

    async def submit_order(self, order: dict[str, Any]) -> dict[str, Any]:
        self.submissions.append(dict(order))
        error, accepted = self.failures.pop(0) if self.failures else (None, True)
        if accepted:
            self.book[order["externalOid"]] = exchange_order(order["externalOid"], OrderState.UNCOMPLETED)
        if error is not None:
            raise error
        return {"orderId": self.book[order["externalOid"]].order_id}

    async def order_by_external_oid(self, symbol: str, oid: str) -> ExchangeOrder | None:
        self.lookups += 1
        return self.book.get(oid)

    async def cancel_order(self, order_id: str) -> dict[str, Any]:
        raise AssertionError("market orders are never cancelled")

    async def open_positions(self, symbol: str | None = None) -> list[Any]:
        return []


def exchange_order(oid: str, state: OrderState, deal_vol: float = 0.0, price: float = 0.0) -> ExchangeOrder:
    return ExchangeOrder(f"ex-{oid}", "SOL_USDT", oid, Side.OPEN_LONG, OrderType.MARKET, state, 50, 150.0,
                         deal_vol, price, int((T + 5) * 1000))


async def trading(exchange: ScriptedExchange) -> tuple[LiveOrderManager, dict[str, list[dict]], InstantClock]:
    bus, clock = EventBus(), InstantClock()
    manager = LiveOrderManager(bus, SeededIds(), clock, SeededRandom(0), session_id="s1", initial_balance=10_000.0,
                               fee_rate=0.0004, slippage_pct=0.0005, exchange=exchange)
    await manager.start()
    seen: dict[str, list[dict]] = {}
    for topic in (topics.ORDER_CREATED, topics.ORDER_FILLED, topics.ORDER_CANCELLED, topics.POSITION_OPENED):
        await bus.subscribe(topic, lambda p, t=topic: _append(seen, t, p), component="Test", role="test")
    await bus.publish(topics.SIGNAL_GENERATED, {
        "signal_id": "sig-1", "session_id": "s1", "strategy_id": "st", "symbol": "SOL_USDT", "signal_type": "Z1",
        "action": "BUY", "triggered": True, "price": 150.0, "quantity": 5.04, "conditions_met": {},
        "indicator_values": {}, "metadata": {}, "timestamp": T})
    return manager, seen, clock


async def _append(seen: dict[str, list[dict]], topic: str, payload: dict) -> None:
    seen.setdefault(topic, []).append(payload)


OID = external_oid("s1", "sig-1")


async def test_a_timeout_after_acceptance_is_looked_up_not_resubmitted() -> None:
    exchange = ScriptedExchange([(ExchangeTimeout("/submit", "no reply"), True)])
    manager, seen, clock = await trading(exchange)
    assert len(exchange.submissions) == 1 and exchange.lookups == 1 and clock.slept
    created = seen[topics.ORDER_CREATED][0]
    assert created["quantity"] == pytest.approx(5.0)  # 50 contracts of 0.1 SOL
    assert created["metadata"]["external_oid"] == OID == exchange.submissions[0]["externalOid"]
    assert exchange.submissions[0] | {"price": 0} == {
        "symbol": "SOL_USDT", "price": 0, "vol": 50, "leverage": 1, "side": 1, "type": 5, "openType": 1,
        "positionMode": 1, "externalOid": OID}
    assert manager.unsettled() == [(created["order_id"], "SOL_USDT", OID)]


async def test_an_unprocessed_request_is_sent_again_once_the_lookup_finds_nothing() -> None:
    exchange = ScriptedExchange([(ExchangeUnavailable("/submit", "HTTP 503"), False)])
    await trading(exchange)
    assert len(exchange.submissions) == 2 and len(exchange.book) == 1 and exchange.lookups == 1


async def test_a_refused_order_is_cancelled_with_the_code() -> None:
    exchange = ScriptedExchange([(ExchangeRejected("/submit", 2005, "insufficient balance"), False)])
    manager, seen, _ = await trading(exchange)
    assert seen[topics.ORDER_CANCELLED][0]["reason"] == "exchange_rejected:2005"
    assert manager.unsettled() == [] and manager.settled()


async def test_partial_deals_fill_the_order_once_at_their_average_price() -> None:
    manager, seen, _ = await trading(ScriptedExchange())
    deal = {"order_id": "ex", "external_oid": OID, "symbol": "SOL_USDT", "side": Side.OPEN_LONG, "fee": 0.0}
    await manager.on_deal(ExchangeDeal(deal_id="d1", vol=30, price=150.0, timestamp=int((T + 1) * 1000), **deal))
    assert topics.ORDER_FILLED not in seen
    await manager.on_deal(ExchangeDeal(deal_id="d1", vol=30, price=150.0, timestamp=int((T + 1) * 1000), **deal))
    assert topics.ORDER_FILLED not in seen  # the same deal twice counts once
    await manager.on_deal(ExchangeDeal(deal_id="d2", vol=20, price=155.0, timestamp=int((T + 2) * 1000), **deal))
    fill = seen[topics.ORDER_FILLED][0]
    assert fill["filled_price"] == pytest.approx((30 * 150 + 20 * 155) / 50) and fill["timestamp"] == T + 2
    assert seen[topics.POSITION_OPENED][0]["entry_price"] == pytest.approx(fill["filled_price"])
    assert manager.open_quantities() == {("SOL_USDT", "LONG"): pytest.approx(5.0)}


class DroppingStream:
    """Drops on the first connection; the second delivers one position update and ends."""

    def __init__(self) -> None:
        self.connections = 0

    async def messages(self) -> AsyncGenerator[PushMessage, None]:
        self.connections += 1
        await anyio.lowlevel.checkpoint()
        if self.connections == 1:
            raise ConnectionError("dropped")
        yield PushMessage("push.personal.position", {})


async def test_a_reconnect_resyncs_and_publishes_the_fill_the_stream_lost() -> None:
    exchange = ScriptedExchange()
    manager, seen, clock = await trading(exchange)
    exchange.book[OID] = exchange_order(OID, OrderState.COMPLETED, deal_vol=50, price=151.0)
    bus = manager._bus
    corrections: list[dict] = []
    await bus.subscribe(topics.POSITION_SYNC_CORRECTED, lambda p: _append({"c": corrections}, "c", p),
                        component="Test", role="test")
    stream = DroppingStream()
    sync = PositionSyncService(bus, exchange, stream, clock, session_id="s1", orders=manager, interval=3600.0)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            await sync.start(group)
            while stream.connections < 2:
                await anyio.lowlevel.checkpoint()
            await sync.stop()
    assert sync.reconnects == 1 and sync.resyncs["start"] == sync.resyncs["reconnect"] == sync.resyncs["stop"] == 1
    assert len(corrections) == 1 and corrections[0]["state"] == "COMPLETED" and corrections[0]["reason"] == "start"
    assert seen[topics.ORDER_FILLED][0]["filled_price"] == 151.0
    assert set(sync.drifts) == {"SOL_USDT LONG: exchange 0.0 local 5.0"}  # the script holds no position
