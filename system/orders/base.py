"""OrderManagerBase: signals to orders, fills to positions, and the account that balances.

Shared by the paper ``OrderManager`` and the ``BacktestOrderManager``; they differ only in
``_execute`` (when a market order fills) and the per-tick hook ``_on_tick``.

Signals handled (docs/architecture.md, "actionable signal"), each ending in
``order_created`` (+ ``order_filled``), ``order_cancelled`` or ``order_rejected`` carrying
the signal's ``signal_id``:

- Z1 BUY/SELL: open, or add to, the strategy's position on the symbol.  Rejected with
  ``opposite_position_open`` (held or working on the other side), ``close_pending``, ``invalid_quantity`` or
  ``insufficient_balance`` (notional at the worst slippage, plus fee, above the balance not
  already committed to open positions and working orders).
- ZE1/E1 CLOSE: close that position.  Rejected with ``no_position`` or ``close_pending``.
- any CANCEL: cancel the strategy's working orders on the symbol; none: rejected with
  ``nothing_to_cancel``.
- Z1 with CLOSE, or ZE1/E1 with BUY/SELL: rejected with ``invalid_action``.

Accounting: ``balance == initial_balance + realized_pnl - fees`` at every instant, where
``realized_pnl`` is the sum of the positions' price PnL and ``fees`` the sum of the orders'
commissions (fee = fill price x quantity x ``fee_rate``).  ``slippage_pct`` is a fraction
like ``fee_rate`` (0.0005 = 5 bp, as in ``SystemConfig``): each fill moves the price against
the order by the fraction ``uniform(0, slippage_pct)`` drawn from the Random port.

Event time: orders are stamped with their signal's time, fills and position events with the
market time of the fill or the mark; the last market price is the latest of the price
updates and the signal prices seen (a signal is produced *by* a price update, and this
manager may be subscribed after the indicator engine).

Lock discipline (the seed report's defect 5):

- ``_lock`` guards orders, positions and the account across the awaits of a signal's
  handling; ``_order_sequence_lock`` guards the order id sequence.
- The only nesting is ``_lock`` then ``_order_sequence_lock``, in ``_open_position``,
  ``_close_position`` and ``_cancel_orders``.  Never take ``_lock`` while holding
  ``_order_sequence_lock``: that order, beside these three, is an ABBA deadlock.
- Events are published only after ``_lock`` is released: a subscriber may call back into
  the manager (``get_all_orders`` takes ``_lock``, and anyio locks are not reentrant), so
  publishing under the lock could deadlock the manager on itself.  One signal's events are
  still published in order (created, filled, position).
- Mark-to-market runs on every tick without ``_lock``: it writes only ``current_price`` and
  ``unrealized_pnl`` and never awaits between reading and writing, which under cooperative
  scheduling is atomic, and it keeps a lock checkpoint off the hot path.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import anyio

from system import topics
from system.bus import EventBus, Subscription
from system.orders import restore as restore_rows
from system.orders.records import Event, Order, Position
from system.ports import Clock, Ids, Random

log = logging.getLogger(__name__)

POSITION_UPDATE_INTERVAL = 60.0
"""Seconds of event time between two mark-to-market ``position_updated`` of one position."""

_SIDES = ("BUY", "SELL")
_REQUIRED_SIGNAL_FIELDS = ("signal_id", "strategy_id", "symbol", "signal_type", "action", "price",
                           "quantity", "timestamp")


class OrderManagerConfigError(ValueError):
    """Constructor arguments an order manager cannot trade with."""


class SignalError(ValueError):
    """An actionable signal missing what an order needs; names the signal and the fields."""


def _check_settings(initial_balance: float, fee_rate: float, slippage_pct: float) -> None:
    for name, value, ok, expected in (
        ("initial_balance", initial_balance, lambda v: v > 0, "> 0"),
        ("fee_rate", fee_rate, lambda v: 0 <= v < 1, "in [0, 1) (a fraction: 0.0006 = 6 bp)"),
        ("slippage_pct", slippage_pct, lambda v: 0 <= v < 1, "in [0, 1) (a fraction: 0.0005 = 5 bp)"),
    ):
        if not (_is_number(value) and ok(value)):
            raise OrderManagerConfigError(f"{name} must be a finite number {expected}, got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class OrderManagerBase:
    """Subscribes to ``signal_generated`` (role ``order_execution``) and
    ``market.price_update`` (role ``mark_to_market``) as its class name."""

    def __init__(self, bus: EventBus, ids: Ids, clock: Clock, random: Random, *, session_id: str,
                 initial_balance: float, fee_rate: float, slippage_pct: float) -> None:
        _check_settings(initial_balance, fee_rate, slippage_pct)
        self._bus = bus
        self._ids = ids
        self._clock = clock  # event times come from the market data; kept for live-mode pacing
        self._random = random
        self.session_id = session_id
        self.initial_balance = float(initial_balance)
        self.fee_rate = float(fee_rate)
        self.slippage_pct = float(slippage_pct)
        self._lock = anyio.Lock()
        self._order_sequence_lock = anyio.Lock()
        self._order_sequence = 0
        self._orders: dict[str, Order] = {}
        self._working: dict[str, Order] = {}  # NEW orders waiting for a fill
        self._positions: dict[str, Position] = {}  # every position, open or closed, by id
        self._open: dict[str, dict[str, Position]] = {}  # symbol -> strategy_id -> OPEN position
        self._last_price: dict[str, tuple[float, float]] = {}  # symbol -> (price, timestamp)
        self._realized_pnl = 0.0
        self._fees = 0.0
        self._subscriptions: list[Subscription] = []
        self._unwritable: dict[str, str] = {}  # table of the trading record -> why its WAL is suspended

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._subscriptions:
            return
        component = type(self).__name__
        self._subscriptions = [
            await self._bus.subscribe(topics.SIGNAL_GENERATED, self._on_signal,
                                      component=component, role="order_execution"),
            await self._bus.subscribe(topics.MARKET_PRICE_UPDATE, self._on_price_update,
                                      component=component, role="mark_to_market"),
            await self._bus.subscribe(topics.STORAGE_TABLE_SUSPENDED, self._on_storage_suspended,
                                      component=component, role="storage_guard"),
            await self._bus.subscribe(topics.STORAGE_TABLE_RESUMED, self._on_storage_resumed,
                                      component=component, role="storage_guard"),
        ]
        log.info("orders.started component=%s session=%s", component, self.session_id)

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await self._bus.unsubscribe(subscription)
        if subscriptions:
            log.info("orders.stopped component=%s session=%s account=%s",
                     type(self).__name__, self.session_id, self.account())

    # -- queries ---------------------------------------------------------------------------

    def account(self) -> dict[str, float]:
        return {
            "initial_balance": self.initial_balance,
            "balance": self.initial_balance + self._realized_pnl - self._fees,
            "realized_pnl": self._realized_pnl,
            "fees": self._fees,
        }

    async def get_all_orders(self) -> list[dict[str, Any]]:
        """Every order in creation order, as ``orders`` rows (+ ``signal_id``)."""
        async with self._lock:
            return [order.row() for order in self._orders.values()]

    async def get_all_positions(self) -> list[dict[str, Any]]:
        """Every position in opening order, as ``positions`` rows; status OPEN or CLOSED."""
        async with self._lock:
            return [position.row() for position in self._positions.values()]

    # -- after a restart -------------------------------------------------------------------

    async def restore(self, order_rows: list[Mapping[str, Any]], position_rows: list[Mapping[str, Any]]) -> None:
        """Rebuild the book from the session's own rows, before :meth:`start` (after a crash).

        Orders are the truth: every FILLED order is settled again, in session sequence, by the
        same code that settled it first, so positions, entry prices and realized PnL come out as
        they were; a NEW order is working again (its fate is the venue's to tell).  Position
        rows give the ids; a position whose row the crash cut off (never written, or still OPEN
        after its closing fill was written) is published again, so the record catches up."""
        if self._orders:
            raise RuntimeError(f"{type(self).__name__}({self.session_id}): restore() on a book already in use")
        rows_by_opening_order = restore_rows.opening_orders(position_rows)
        rows_by_id = {row["position_id"]: row for row in position_rows}
        for order in sorted(map(restore_rows.order_from_row, order_rows), key=lambda o: (o.sequence, o.order_id)):
            self._orders[order.order_id] = order
            self._order_sequence = max(self._order_sequence, order.sequence)
            position = self._open.get(order.symbol, {}).get(order.strategy_id)
            if position is not None and order.side == _closing_side(position):
                order.closes = position
            self._observe_price(order.symbol, order.price, order.timestamp)
            if order.status == "NEW":
                self._working[order.order_id] = order
            elif order.status == "FILLED" and order.filled_price is not None:
                if order.closes is not None:
                    self._settle_close(order.closes, order.filled_price, order.timestamp)
                else:
                    row = rows_by_opening_order.get(order.order_id)
                    self._settle_entry(order, order.filled_price, order.timestamp,
                                       position_id=None if row is None else row["position_id"])
        self._fees = sum(order.commission for order in self._orders.values() if order.status == "FILLED")
        repairs: list[Event] = []
        for position in self._positions.values():
            row = rows_by_id.get(position.position_id)
            if row is not None:
                position.timestamp = restore_rows.position_timestamp(row)
                if position.status == "OPEN":
                    position.current_price = float(row["current_price"] or position.entry_price)
                    position.unrealized_pnl = position.pnl_at(position.current_price)
                if restore_rows.same_position(position, row):
                    continue
            else:
                repairs.append(position.opened())
            if position.status == "CLOSED":
                repairs.append(position.closed(position.timestamp))
            else:
                repairs.append(position.updated(position.timestamp))
        log.info("orders.restored component=%s session=%s orders=%d working=%d open=%d repairs=%d",
                 type(self).__name__, self.session_id, len(self._orders), len(self._working),
                 sum(len(by) for by in self._open.values()), len(repairs))
        await self._publish(repairs)

    def holdings(self) -> list[tuple[str, str, float, float]]:
        """``(strategy_id, symbol, entry_price, quantity)`` of each open position and each entry
        still working: what the strategies hold or asked for (``StrategyManager.resume``)."""
        held = {(p.strategy_id, p.symbol): (p.entry_price, p.quantity)
                for by_strategy in self._open.values() for p in by_strategy.values()}
        for order in self._working.values():
            if order.closes is None:
                held.setdefault((order.strategy_id, order.symbol), (order.price, order.quantity))
        return [(strategy_id, symbol, price, quantity) for (strategy_id, symbol), (price, quantity) in held.items()]

    # -- storage health --------------------------------------------------------------------

    async def _on_storage_suspended(self, payload: dict[str, Any]) -> None:
        self._unwritable[payload["table"]] = payload["error"]
        log.warning("orders.entries_paused component=%s session=%s table=%s", type(self).__name__,
                    self.session_id, payload["table"])

    async def _on_storage_resumed(self, payload: dict[str, Any]) -> None:
        if self._unwritable.pop(payload["table"], None) is not None:
            log.info("orders.entries_resumed component=%s session=%s table=%s", type(self).__name__,
                     self.session_id, payload["table"])

    # -- signals ---------------------------------------------------------------------------

    async def _on_signal(self, signal: dict[str, Any]) -> None:
        if signal["session_id"] != self.session_id or not signal["triggered"]:
            return
        signal_type, action = signal["signal_type"], signal["action"]
        if action != "CANCEL" and signal_type not in ("Z1", "ZE1", "E1"):
            return  # S1 is informational
        missing = [name for name in _REQUIRED_SIGNAL_FIELDS if name not in signal]
        if missing or not (_is_number(signal["price"]) and signal["price"] > 0):
            raise SignalError(f"signal_generated {signal.get('signal_id')!r} session={self.session_id}: "
                              f"missing fields {missing}, price {signal.get('price')!r} (a number > 0)")
        self._observe_price(signal["symbol"], signal["price"], signal["timestamp"])
        if action == "CANCEL":
            events = await self._cancel_orders(signal)
        elif signal_type == "Z1":
            events = await self._open_position(signal)
        else:
            events = await self._close_position(signal)
        await self._publish(events)

    async def _open_position(self, signal: dict[str, Any]) -> list[Event]:
        async with self._lock:
            async with self._order_sequence_lock:
                order_id, sequence = self._next_order_id()
            action = signal["action"]
            side = action if action in _SIDES else _entry_side(signal)
            order = self._new_order(signal, order_id, sequence, side=side)
            reason = self._entry_rejection(order) if action in _SIDES else "invalid_action"
            if reason is not None:
                return [order.rejected(reason)]
            return [order.created(), *self._execute(order)]

    async def _close_position(self, signal: dict[str, Any]) -> list[Event]:
        async with self._lock:
            position = self._open.get(signal["symbol"], {}).get(signal["strategy_id"])
            async with self._order_sequence_lock:
                order_id, sequence = self._next_order_id()
            if signal["action"] != "CLOSE":
                order = self._new_order(signal, order_id, sequence, side=_exit_side(signal))
                return [order.rejected("invalid_action")]
            # Entries still working would reopen (or grow) what this signal closes: withdraw them first,
            # so the close settles exactly the quantity it was sized for.
            withdrawn = self._withdraw(signal, "superseded_by_close", entries_only=True)
            if position is None:
                order = self._new_order(signal, order_id, sequence, side=_exit_side(signal))
                return [*withdrawn, order.rejected("no_position")]
            order = self._new_order(signal, order_id, sequence, side=_closing_side(position),
                                    quantity=position.quantity, closes=position)
            if self._close_pending(position):
                return [*withdrawn, order.rejected("close_pending")]
            return [*withdrawn, order.created(), *self._execute(order)]

    async def _cancel_orders(self, signal: dict[str, Any]) -> list[Event]:
        async with self._lock:
            reason = signal.get("metadata", {}).get("reason", "cancel_signal")
            withdrawn = self._withdraw(signal, reason, entries_only=False)
            if not withdrawn:
                async with self._order_sequence_lock:
                    order_id, sequence = self._next_order_id()
                order = self._new_order(signal, order_id, sequence, side=_entry_side(signal))
                return [order.rejected("nothing_to_cancel")]
            return withdrawn

    def _withdraw(self, signal: dict[str, Any], reason: str, *, entries_only: bool) -> list[Event]:
        """Take the signal's strategy's working orders on its symbol off the book; caller holds ``_lock``.

        The cancellations carry the withdrawing signal's ``signal_id``: they are its outcome."""
        targets = [order for order in self._working.values()
                   if order.strategy_id == signal["strategy_id"] and order.symbol == signal["symbol"]
                   and not (entries_only and order.closes is not None) and self._withdrawable(order)]
        for order in targets:
            del self._working[order.order_id]
        return [order.cancelled(signal_id=signal["signal_id"], reason=reason, timestamp=signal["timestamp"])
                for order in targets]

    def _withdrawable(self, order: Order) -> bool:
        """Whether a working order can still be taken back locally (it has not left this process)."""
        return True

    def _next_order_id(self) -> tuple[str, int]:
        """Caller holds ``_order_sequence_lock``: the id and its session sequence go together."""
        self._order_sequence += 1
        return self._ids.new_id("ord"), self._order_sequence

    def _new_order(self, signal: dict[str, Any], order_id: str, sequence: int, *, side: str,
                   quantity: float | None = None, closes: Position | None = None) -> Order:
        symbol = signal["symbol"]
        order = Order(
            order_id=order_id, sequence=sequence, session_id=self.session_id, signal_id=signal["signal_id"],
            strategy_id=signal["strategy_id"], symbol=symbol, side=side,
            quantity=signal["quantity"] if quantity is None else quantity,
            price=self._last_price[symbol][0], timestamp=signal["timestamp"], closes=closes,
            metadata={"sequence": sequence, "signal_type": signal["signal_type"]},
        )
        for level in ("stop_loss", "take_profit"):
            if level in signal.get("metadata", {}):
                order.metadata[level] = signal["metadata"][level]
        self._orders[order_id] = order
        return order

    def _entry_rejection(self, order: Order) -> str | None:
        """Why an opening order cannot be placed, or None."""
        if self._unwritable:  # a position we could not record is a position nobody can see
            return "storage_suspended"
        quantity = order.quantity
        if not (isinstance(quantity, int | float) and math.isfinite(quantity) and quantity > 0):
            return "invalid_quantity"
        if self._exposure_side(order.strategy_id, order.symbol) not in (None, order.side):
            return "opposite_position_open"
        position = self._open.get(order.symbol, {}).get(order.strategy_id)
        if position is not None and self._close_pending(position):
            return "close_pending"
        worst_price = order.price * (1.0 + self.slippage_pct)
        required = quantity * worst_price * (1.0 + self.fee_rate)
        if required > self._available_balance():
            return "insufficient_balance"
        return None

    def _exposure_side(self, strategy_id: str, symbol: str) -> str | None:
        """The side (BUY/SELL) the strategy holds, or will once its working entries fill."""
        position = self._open.get(symbol, {}).get(strategy_id)
        if position is not None:
            return "BUY" if position.side == "LONG" else "SELL"
        for order in self._working.values():
            if order.closes is None and order.strategy_id == strategy_id and order.symbol == symbol:
                return order.side
        return None

    def _close_pending(self, position: Position) -> bool:
        return any(working.closes is position for working in self._working.values())

    def _available_balance(self) -> float:
        committed = sum(p.entry_price * p.quantity for by_strategy in self._open.values()
                        for p in by_strategy.values())
        committed += sum(o.price * o.quantity for o in self._working.values() if o.closes is None)
        return self.account()["balance"] - committed

    # -- execution (subclasses decide when a market order fills) ---------------------------

    def _execute(self, order: Order) -> list[Event]:
        """Called under ``_lock`` right after ``order_created``; returns the events that follow."""
        raise NotImplementedError

    def _fill(self, order: Order, market_price: float, timestamp: float) -> list[Event]:
        """Fill ``order`` completely at ``market_price`` moved by slippage; caller holds ``_lock``."""
        self._working.pop(order.order_id, None)
        slip = self._random.uniform(0.0, self.slippage_pct)
        price = market_price * (1.0 + slip) if order.side == "BUY" else market_price * (1.0 - slip)
        position = order.closes  # a closing order's quantity is its position's: adds wait for it
        order.status = "FILLED"
        order.filled_quantity = order.quantity
        order.filled_price = price
        order.commission = price * order.quantity * self.fee_rate
        self._fees += order.commission
        events = [order.filled(timestamp)]
        if position is not None:
            events.append(self._settle_close(position, price, timestamp))
        else:
            events.append(self._settle_entry(order, price, timestamp))
        return events

    def _settle_entry(self, order: Order, price: float, timestamp: float, *,
                      position_id: str | None = None) -> Event:
        position = self._open.get(order.symbol, {}).get(order.strategy_id)
        if position is not None:  # same side: add, at the average entry price
            total = position.quantity + order.quantity
            position.entry_price = (position.entry_price * position.quantity + price * order.quantity) / total
            position.quantity = total
            position.current_price = price
            position.unrealized_pnl = position.pnl_at(price)
            return position.updated(timestamp)
        position = Position(
            position_id=position_id or self._ids.new_id("pos"), session_id=self.session_id,
            strategy_id=order.strategy_id,
            symbol=order.symbol, side="LONG" if order.side == "BUY" else "SHORT", quantity=order.quantity,
            entry_price=price, timestamp=timestamp, current_price=price, last_reported=timestamp,
            stop_loss=order.metadata.get("stop_loss"), take_profit=order.metadata.get("take_profit"),
            metadata={"order_id": order.order_id, "signal_id": order.signal_id},
        )
        self._positions[position.position_id] = position
        self._open.setdefault(order.symbol, {})[order.strategy_id] = position
        return position.opened()

    def _settle_close(self, position: Position, price: float, timestamp: float) -> Event:
        pnl = position.pnl_at(price)
        position.realized_pnl += pnl
        self._realized_pnl += pnl
        position.current_price = price
        position.unrealized_pnl = 0.0
        position.status = "CLOSED"
        del self._open[position.symbol][position.strategy_id]
        return position.closed(timestamp)

    # -- market data -----------------------------------------------------------------------

    def _observe_price(self, symbol: str, price: float, timestamp: float) -> None:
        last = self._last_price.get(symbol)
        if last is None or timestamp >= last[1]:
            self._last_price[symbol] = (price, timestamp)

    async def _on_price_update(self, payload: dict[str, Any]) -> None:
        if payload["session_id"] != self.session_id:
            return
        symbol = payload["symbol"]
        price = payload["price"]
        timestamp = payload["timestamp"]
        self._observe_price(symbol, price, timestamp)
        events = await self._on_tick(symbol, price, timestamp) if self._working else []
        positions = self._open.get(symbol)
        if positions:
            for position in positions.values():
                position.current_price = price
                position.unrealized_pnl = position.pnl_at(price)
                if timestamp - position.last_reported >= POSITION_UPDATE_INTERVAL:
                    events.append(position.updated(timestamp))
        if events:
            await self._publish(events)

    async def _on_tick(self, symbol: str, price: float, timestamp: float) -> list[Event]:
        """Work due at a new price while orders are working (paper fills); none by default."""
        return []

    async def _publish(self, events: Iterable[Event]) -> None:
        """Publish the events of a state change already made, all of them, to every subscriber.

        Shielded from cancellation: the caller may be a task the session is cancelling as it
        stops (the feed's, the push stream's, a submission's).  Cut halfway, the change would
        exist in memory and never reach the bus or the database (a position opened at the
        last second, persisted by nobody).  Every handler of these events is bounded (the
        persistence retry policy), so the shield delays a stop, never blocks it.
        """
        with anyio.CancelScope(shield=True):
            for topic, payload in events:
                await self._bus.publish(topic, payload)


def _closing_side(position: Position) -> str:
    return "SELL" if position.side == "LONG" else "BUY"


def _entry_side(signal: dict[str, Any]) -> str:
    """The side a strategy enters with, from the signal's ``metadata.side`` (LONG by default)."""
    return "SELL" if signal.get("metadata", {}).get("side") == "SHORT" else "BUY"


def _exit_side(signal: dict[str, Any]) -> str:
    return "BUY" if _entry_side(signal) == "SELL" else "SELL"
