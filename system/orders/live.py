"""LiveOrderManager: signals become market orders on MEXC futures; the exchange says when they fill.

The accounting, the signal rules and the events are those of :mod:`system.orders.base`; what
differs is *when* an order fills and *at what price*: the exchange's deals decide, so the
manager runs with no simulated slippage (the fill price is the exchange's) and an order stays
working until its deals add up to its volume.

Idempotent submission.  Every order carries a client order id, ``externalOid``, derived from
its session and signal (:func:`external_oid`), so the same signal always names the same
exchange order.  After any transient failure of a submission (5xx, rate limit, no reply) the
manager first *looks the order up by externalOid*, and sends it again only if the exchange
says it has no such order: a timeout after the exchange accepted the order can never place a
second one.  If even the lookups keep failing, the order stays working and
:class:`~system.sync.PositionSyncService` settles it on its next pass.

Orders are MEXC market orders (type 5) in hedge mode, isolated margin, leverage ``leverage``;
sides 1 open long, 3 open short, 4 close long, 2 close short.  Volume is in contracts:
``quantity / contractSize`` rounded down to ``volUnit``; the order's ``quantity`` is what that
volume really buys (an entry below ``minVol`` or above ``maxVol`` is rejected
``invalid_quantity``).  A market order cannot be withdrawn once sent, so a CANCEL signal while
one is working is rejected ``not_cancellable``; an order the exchange refuses (an error code)
is reported ``order_cancelled`` with reason ``exchange_rejected:<code>``, since its
``order_created`` is already on the record.

Inputs from the exchange, all applied under ``_lock`` and idempotent (a deal or a verdict seen
twice changes nothing): deals and order updates of the private push stream
(:meth:`on_deal`, :meth:`on_order`, called by the PositionSyncService that owns the stream)
and the ``position.sync_corrected`` events of its resynchronisations.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.exchange.errors import ExchangeRejected, ExchangeTransientError
from system.exchange.models import ContractSpec, ExchangeDeal, ExchangeOrder, OrderState, OrderType, Side
from system.orders.base import OrderManagerBase, _entry_side
from system.orders.records import Event, Order, Position
from system.ports import Clock, FuturesExchange, Ids, Random

log = logging.getLogger(__name__)

T = TypeVar("T")

SUBMIT_RETRY = RetryPolicy(attempts=8, backoff=0.1, max_backoff=2.0)
"""Submissions and lookups: the rate limit window is 2 s, so back off up to that."""
ISOLATED_MARGIN = 1
HEDGE_MODE = 1
_VOL_TOLERANCE = 1e-9


def external_oid(session_id: str, signal_id: str) -> str:
    """The client order id of the order answering ``signal_id``: stable across retries and
    restarts, unique per session and signal, 32 characters (the API's limit)."""
    return "sw" + hashlib.sha256(f"{session_id}|{signal_id}".encode()).hexdigest()[:30]


@dataclass(slots=True)
class _LiveOrder:
    """What the manager knows of one order on the exchange."""

    order: Order
    external_oid: str
    vol: float
    in_flight: bool = True
    """Submission still running: no verdict on it may be drawn from a lookup yet."""
    exchange_order_id: str | None = None
    deals: dict[str, tuple[float, float]] = field(default_factory=dict)  # deal id -> (vol, price)


class LiveOrderManager(OrderManagerBase):
    def __init__(self, bus: EventBus, ids: Ids, clock: Clock, random: Random, *, session_id: str,
                 initial_balance: float, fee_rate: float, slippage_pct: float, exchange: FuturesExchange,
                 leverage: int = 1, retry: RetryPolicy = SUBMIT_RETRY) -> None:
        # slippage_pct is taken for the factory signature all managers share, and not used: the
        # exchange's deals set the price (the base's slippage draw is then uniform(0, 0))
        super().__init__(bus, ids, clock, random, session_id=session_id, initial_balance=initial_balance,
                         fee_rate=fee_rate, slippage_pct=0.0)
        self._exchange = exchange
        self.leverage = leverage
        self._retry = retry
        self._specs: dict[str, ContractSpec] = {}
        self._live: dict[str, _LiveOrder] = {}  # by external oid
        self._to_submit: list[_LiveOrder] = []

    async def restore(self, order_rows: list[Any], position_rows: list[Any]) -> None:
        """The base's rebuilt book, plus what only live needs: each working order's client id
        (its submission is over: the position sync asks the exchange what became of it) and
        the contract of every symbol with an order or a position."""
        await super().restore(order_rows, position_rows)
        for order in self._working.values():
            oid = order.metadata.get("external_oid") or external_oid(self.session_id, order.signal_id)
            self._live[oid] = _LiveOrder(order, oid, float(order.metadata.get("vol", 0.0)), in_flight=False)
        for symbol in sorted({order.symbol for order in self._orders.values()}):
            self._specs[symbol] = await self._with_retry(lambda symbol=symbol: self._exchange.contract_detail(symbol))

    async def start(self) -> None:
        if self._subscriptions:
            return
        await super().start()
        self._subscriptions.append(await self._bus.subscribe(
            topics.POSITION_SYNC_CORRECTED, self._on_correction, component=type(self).__name__, role="position_sync"))

    # -- what the PositionSyncService asks ---------------------------------------------------

    def unsettled(self) -> list[tuple[str, str, str]]:
        """``(order_id, symbol, external_oid)`` of working orders whose submission is over: the
        ones a resynchronisation may settle from the exchange's answer."""
        return [(live.order.order_id, live.order.symbol, oid) for oid, live in self._live.items()
                if not live.in_flight and live.order.order_id in self._working]

    def settled(self) -> bool:
        """No order is working: the book should equal the exchange's."""
        return not self._working

    def contract(self, symbol: str) -> ContractSpec | None:
        """The contract of ``symbol`` if this manager has traded it."""
        return self._specs.get(symbol)

    def open_quantities(self) -> dict[tuple[str, str], float]:
        """Open quantity by (symbol, LONG/SHORT), summed over strategies: the exchange's view."""
        held: dict[tuple[str, str], float] = {}
        for symbol, by_strategy in self._open.items():
            for position in by_strategy.values():
                key = (symbol, position.side)
                held[key] = held.get(key, 0.0) + position.quantity
        return held

    # -- signals -----------------------------------------------------------------------------

    async def _on_signal(self, signal: dict[str, Any]) -> None:
        symbol = signal.get("symbol")
        if signal.get("session_id") == self.session_id and isinstance(symbol, str) and symbol not in self._specs:
            self._specs[symbol] = await self._with_retry(lambda: self._exchange.contract_detail(symbol))
        await super()._on_signal(signal)
        while self._to_submit:
            await self._submit(self._to_submit.pop(0))

    def _new_order(self, signal: dict[str, Any], order_id: str, sequence: int, *, side: str,
                   quantity: float | None = None, closes: Position | None = None) -> Order:
        order = super()._new_order(signal, order_id, sequence, side=side, quantity=quantity, closes=closes)
        spec = self._specs.get(order.symbol)
        if spec is not None and isinstance(order.quantity, int | float) and order.quantity > 0:
            vol = round(order.quantity / spec.contract_size) if closes else spec.vol_for(order.quantity)
            order.quantity = spec.quantity_of(vol)
            order.metadata["vol"] = vol
        order.metadata["external_oid"] = external_oid(self.session_id, order.signal_id)
        return order

    def _execute(self, order: Order) -> list[Event]:
        live = _LiveOrder(order, order.metadata["external_oid"], order.metadata["vol"])
        self._working[order.order_id] = order
        self._live[live.external_oid] = live
        self._to_submit.append(live)
        return []

    def _withdrawable(self, order: Order) -> bool:
        """A live market order is at the exchange from the moment it is working: it cannot be
        taken back locally, only filled or refused there."""
        return False

    async def _cancel_orders(self, signal: dict[str, Any]) -> list[Event]:
        async with self._lock:
            if any(order.strategy_id == signal["strategy_id"] and order.symbol == signal["symbol"]
                   for order in self._working.values()):
                async with self._order_sequence_lock:
                    order_id, sequence = self._next_order_id()
                order = self._new_order(signal, order_id, sequence, side=_entry_side(signal))
                return [order.rejected("not_cancellable")]
        return await super()._cancel_orders(signal)

    # -- submission ----------------------------------------------------------------------------

    async def _submit(self, live: _LiveOrder) -> None:
        order = live.order
        request = {
            "symbol": order.symbol, "price": order.price, "vol": live.vol, "leverage": self.leverage,
            "side": int(_side_code(order)), "type": int(OrderType.MARKET), "openType": ISOLATED_MARGIN,
            "positionMode": HEDGE_MODE, "externalOid": live.external_oid,
        }
        look_up_first = False
        try:
            for attempt in range(1, self._retry.attempts + 1):
                try:
                    if look_up_first:
                        found = await self._exchange.order_by_external_oid(order.symbol, live.external_oid)
                        if found is not None:
                            live.exchange_order_id = found.order_id
                            await self._publish(await self._apply_order(live, found))
                            return
                        look_up_first = False
                    reply = await self._exchange.submit_order(request)
                    live.exchange_order_id = str(reply["orderId"])
                    return
                except ExchangeRejected as error:
                    await self._publish(await self._refused(live, error))
                    return
                except ExchangeTransientError as error:
                    # it may have been placed: find out before sending it again
                    look_up_first = True
                    log.warning("live.submit_retry session=%s order=%s attempt=%d error=%s",
                                self.session_id, order.order_id, attempt, error)
                    await self._clock.sleep(self._retry.delay(attempt))
            log.error("live.submit_unknown session=%s order=%s: no answer after %d attempts; "
                      "left to the position sync", self.session_id, order.order_id, self._retry.attempts)
        finally:
            live.in_flight = False

    async def _refused(self, live: _LiveOrder, error: ExchangeRejected) -> list[Event]:
        async with self._lock:
            return self._cancel_working(live, f"exchange_rejected:{error.code}", self._event_time(live))

    async def _with_retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """A read: safe to repeat after a transient failure."""
        for attempt in range(1, self._retry.attempts):
            try:
                return await call()
            except ExchangeTransientError as error:
                log.warning("live.read_retry session=%s attempt=%d error=%s", self.session_id, attempt, error)
                await self._clock.sleep(self._retry.delay(attempt))
        return await call()

    # -- what the exchange reports -------------------------------------------------------------

    async def on_deal(self, deal: ExchangeDeal) -> None:
        """A deal of the push stream: the order fills once its deals cover its volume."""
        live = self._live.get(deal.external_oid)
        if live is None:
            return  # another session's order on the same account
        events: list[Event] = []
        async with self._lock:
            if live.order.order_id in self._working:
                live.deals[deal.deal_id] = (deal.vol, deal.price)
                dealt = sum(vol for vol, _ in live.deals.values())
                if dealt >= live.vol - _VOL_TOLERANCE:
                    price = sum(vol * price for vol, price in live.deals.values()) / dealt
                    events = self._fill(live.order, price, deal.timestamp / 1000)
        await self._publish(events)

    async def on_order(self, update: ExchangeOrder) -> None:
        """An order update of the push stream (or a lookup): settles the order if it is final."""
        live = self._live.get(update.external_oid)
        if live is not None:
            await self._publish(await self._apply_order(live, update))

    async def _on_correction(self, payload: dict[str, Any]) -> None:
        if payload["session_id"] != self.session_id:
            return
        live = self._live.get(payload["external_oid"])
        if live is None:
            log.error("live.correction_unknown_order session=%s payload=%s", self.session_id, payload)
            return
        state = payload["state"]
        events: list[Event] = []
        async with self._lock:
            if state == "COMPLETED":
                events = self._settle_fill(live, payload["filled_quantity"], payload["filled_price"],
                                           payload["timestamp"])
            else:
                events = self._cancel_working(live, f"exchange_{state.lower()}", payload["timestamp"])
        await self._publish(events)

    async def _apply_order(self, live: _LiveOrder, update: ExchangeOrder) -> list[Event]:
        timestamp = update.update_time / 1000
        async with self._lock:
            if update.state is OrderState.COMPLETED:
                spec = self._specs[live.order.symbol]
                return self._settle_fill(live, spec.quantity_of(update.deal_vol), update.deal_avg_price, timestamp)
            if update.state in (OrderState.CANCELLED, OrderState.INVALID) and update.deal_vol == 0:
                return self._cancel_working(live, f"exchange_{update.state.name.lower()}", timestamp)
        return []

    def _settle_fill(self, live: _LiveOrder, quantity: float, price: float, timestamp: float) -> list[Event]:
        """Caller holds ``_lock``.  The exchange's final word on a filled order."""
        order = live.order
        if order.order_id not in self._working:
            return []
        if abs(quantity - order.quantity) > _VOL_TOLERANCE * max(1.0, order.quantity):
            log.error("live.fill_size_mismatch session=%s order=%s local=%r exchange=%r",
                      self.session_id, order.order_id, order.quantity, quantity)
        return self._fill(order, price, timestamp)

    def _cancel_working(self, live: _LiveOrder, reason: str, timestamp: float) -> list[Event]:
        """Caller holds ``_lock``."""
        order = live.order
        if self._working.pop(order.order_id, None) is None:
            return []
        return [order.cancelled(signal_id=order.signal_id, reason=reason, timestamp=timestamp)]

    def _event_time(self, live: _LiveOrder) -> float:
        last = self._last_price.get(live.order.symbol)
        return max(live.order.timestamp, last[1]) if last else live.order.timestamp


def _side_code(order: Order) -> Side:
    if order.closes is None:
        return Side.OPEN_LONG if order.side == "BUY" else Side.OPEN_SHORT
    return Side.CLOSE_LONG if order.closes.side == "LONG" else Side.CLOSE_SHORT
