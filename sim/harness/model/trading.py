"""Fills, fees, positions and the balance, rebuilt from the recorded orders and fills.

The model walks one session's trading events in publish order and keeps its own book, one
position per (strategy, symbol), from nothing but the fills:

- a fill's price lies within the symbol's *own* market prices between the order and the
  fill, moved against the order by at most the declared slippage (none in live mode, where
  the exchange's deals set the price);
- its commission is the fee schedule on the fill: ``filled_price x filled_quantity x fee_rate``;
- an entry fill opens the strategy's position on the symbol (or adds to it at the average
  price); a closing fill closes it, realizing ``side x (exit - entry) x quantity``;
- every position event says what the model's book says: the one a fill caused, and every
  mark-to-market update (the symbol's market price at that time, unrealized PnL
  ``side x (price - entry) x quantity``);
- the balance (initial + realized - fees) never goes below zero: the system has no margin
  events, so nothing may take it there.

A fill's position event is published after the fill by the same publisher, so it is found by
waiting for the next position event of the same (strategy, symbol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.harness.model.findings import Findings, close, describe
from sim.harness.model.indicators import Ticks
from system import topics

ENTRY_SIGNALS = ("Z1",)
_SIGN = {"LONG": 1.0, "SHORT": -1.0}


@dataclass
class _Position:
    side: str
    quantity: float
    entry: float
    position_id: str = ""


@dataclass(frozen=True)
class _Expected:
    """The position event a fill must cause."""

    topic: str
    values: tuple[tuple[str, Any], ...]
    fill: str


class TradingModel:
    def __init__(self, ticks: Mapping[str, Ticks], findings: Findings, *, fee_rate: float, slippage: float,
                 initial_balance: float) -> None:
        self.ticks = ticks
        self.findings = findings
        self.fee_rate = fee_rate
        self.slippage = slippage
        self.balance = initial_balance
        self.orders: dict[str, Mapping[str, Any]] = {}
        self.book: dict[tuple[str, str], _Position] = {}
        self.position_keys: dict[str, tuple[str, str]] = {}
        self.pending: dict[tuple[str, str], list[_Expected]] = {}
        self._balance_reported = False

    def run(self, timeline: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        handlers = {topics.ORDER_CREATED: self._created, topics.ORDER_FILLED: self._filled,
                    topics.POSITION_OPENED: self._position_event, topics.POSITION_UPDATED: self._position_event,
                    topics.POSITION_CLOSED: self._position_event}
        for topic, event in timeline:
            handler = handlers.get(topic)
            if handler is not None:
                handler(topic, event)
        for key, expectations in sorted(self.pending.items()):
            for expected in expectations:
                self.findings.add("oracle.model-position", f"a fill of {key[0]} on {key[1]} changed no position",
                                  event=expected.fill, expected=f"{expected.topic} {dict(expected.values)}",
                                  seen=f"no {expected.topic} of {key[0]} on {key[1]} after it")

    def _created(self, topic: str, event: Mapping[str, Any]) -> None:
        self.orders[event.get("order_id", "")] = event

    # -- fills ---------------------------------------------------------------------------------

    def _filled(self, topic: str, fill: Mapping[str, Any]) -> None:
        where = describe(topic, fill)
        order = self.orders.get(fill.get("order_id", ""))
        if order is None:
            self.findings.add("oracle.model-position", "a fill of an order never created", event=where,
                              expected="order_created before order_filled", seen=f"order {fill.get('order_id')}")
            return
        symbol, strategy, side = order["symbol"], order["strategy_id"], order["side"]
        if (fill.get("symbol"), fill.get("strategy_id"), fill.get("side")) != (symbol, strategy, side):
            self.findings.add("oracle.model-position", "a fill names another symbol, strategy or side than its order",
                              event=where, expected=f"{symbol} {strategy} {side}",
                              seen=f"{fill.get('symbol')} {fill.get('strategy_id')} {fill.get('side')}")
        price, quantity = fill.get("filled_price", 0.0), fill.get("filled_quantity", 0.0)
        self._check_price(where, order, fill)
        fee = price * quantity * self.fee_rate
        if not close(fill.get("commission"), fee):
            self.findings.add("oracle.model-fee", "a commission differs from the fee schedule on the fill", event=where,
                              expected=f"filled_price x filled_quantity x fee_rate = {price!r} x {quantity!r} x "
                                       f"{self.fee_rate!r} = {fee!r}", seen=f"commission {fill.get('commission')!r}")
        if not close(quantity, order.get("quantity")):
            self.findings.add("oracle.model-position", "an order filled another quantity than it asked for",
                              event=where, expected=f"filled_quantity {order.get('quantity')!r}", seen=f"{quantity!r}")
        key = (strategy, symbol)
        if (order.get("metadata") or {}).get("signal_type") in ENTRY_SIGNALS:
            self._entry(key, side, quantity, price, where)
        else:
            self._close(key, side, price, where)
        self.balance -= fee
        self._check_balance(where)

    def _check_price(self, where: str, order: Mapping[str, Any], fill: Mapping[str, Any]) -> None:
        ticks = self.ticks.get(order["symbol"])
        if ticks is None or not ticks.times:
            return
        first = max(ticks.index_at(order.get("timestamp", 0.0)), 0)
        last = ticks.index_at(fill.get("timestamp", 0.0))
        prices = ticks.prices[first:last + 1] or [ticks.prices[first]]
        low, high = min(prices), max(prices)
        if order["side"] == "BUY":
            low, high, against = low, high * (1.0 + self.slippage), "up"
        else:
            low, high, against = low * (1.0 - self.slippage), high, "down"
        price = fill.get("filled_price")
        if not (isinstance(price, int | float) and (low <= price <= high or close(price, low) or close(price, high))):
            self.findings.add(
                "oracle.model-fill-price", f"a fill is outside {order['symbol']}'s own market prices", event=where,
                expected=f"{order['symbol']} traded {min(prices)!r}..{max(prices)!r} between the order "
                         f"(t={order.get('timestamp')}) and the fill, moved {against} by at most "
                         f"{self.slippage:g}: {low!r}..{high!r}", seen=f"filled_price {price!r}")

    def _entry(self, key: tuple[str, str], side: str, quantity: float, price: float, where: str) -> None:
        held = self.book.get(key)
        wanted = "LONG" if side == "BUY" else "SHORT"
        if held is None:
            self.book[key] = _Position(wanted, quantity, price)
            self._expect(key, topics.POSITION_OPENED, where, strategy_id=key[0], symbol=key[1], side=wanted,
                         quantity=quantity, entry_price=price)
            return
        if held.side != wanted:
            self.findings.add("oracle.model-position", f"an entry of {key[0]} on {key[1]} against its open position",
                              event=where, expected=f"{wanted} entries only while no {held.side} is open",
                              seen=f"{side} fill with {held.side} {held.quantity!r} open")
            return
        total = held.quantity + quantity
        held.entry = (held.entry * held.quantity + price * quantity) / total
        held.quantity = total
        self._expect(key, topics.POSITION_UPDATED, where, quantity=total, entry_price=held.entry,
                     current_price=price, unrealized_pnl=_SIGN[held.side] * (price - held.entry) * total)

    def _close(self, key: tuple[str, str], side: str, price: float, where: str) -> None:
        held = self.book.pop(key, None)
        if held is None or side != ("SELL" if held.side == "LONG" else "BUY"):
            self.findings.add("oracle.model-position", f"a closing fill of {key[0]} on {key[1]} closes nothing",
                              event=where, expected="a closing fill on the side opposite an open position",
                              seen=f"{side} fill with {'nothing' if held is None else held.side} open")
            return
        realized = _SIGN[held.side] * (price - held.entry) * held.quantity
        self.balance += realized
        self._expect(key, topics.POSITION_CLOSED, where, current_price=price, realized_pnl=realized)

    def _expect(self, key: tuple[str, str], topic: str, fill: str, **values: Any) -> None:
        self.pending.setdefault(key, []).append(_Expected(topic, tuple(values.items()), fill))

    def _check_balance(self, where: str) -> None:
        if self.balance < 0 and not self._balance_reported:
            self._balance_reported = True
            self.findings.add("oracle.model-balance", "the balance went below zero", event=where,
                              expected="initial + realized PnL - fees >= 0 (the system records no margin events)",
                              seen=f"balance {self.balance!r} after this fill")

    # -- position events -----------------------------------------------------------------------

    def _position_event(self, topic: str, event: Mapping[str, Any]) -> None:
        where = describe(topic, event)
        position_id = event.get("position_id", "")
        if topic == topics.POSITION_OPENED:
            key = (event.get("strategy_id", ""), event.get("symbol", ""))
            self.position_keys[position_id] = key
        elif position_id not in self.position_keys:
            self.findings.add("oracle.model-position", "an event of a position never opened", event=where,
                              expected="position_opened first", seen=f"{topic} of {position_id}")
            return
        key = self.position_keys[position_id]
        pending = self.pending.get(key)
        if pending and pending[0].topic == topic:
            expected = pending.pop(0)
            if topic == topics.POSITION_OPENED and key in self.book:
                self.book[key].position_id = position_id
            self._compare(key, where, dict(expected.values), event, f"after {expected.fill}")
            return
        if topic != topics.POSITION_UPDATED:
            self.findings.add("oracle.model-position", f"{topic} of {key[0]} on {key[1]} caused by no fill of theirs",
                              event=where, expected=f"a {topic} only after a fill of {key[0]} on {key[1]}",
                              seen=f"{topic} with {self._book_text(key)}")
            return
        self._mark(key, where, event)

    def _mark(self, key: tuple[str, str], where: str, event: Mapping[str, Any]) -> None:
        """A mark-to-market update: the book's position at the symbol's market price."""
        held = self.book.get(key)
        if held is None or held.position_id != event.get("position_id"):
            self.findings.add("oracle.model-position", f"a mark of {key[0]} on {key[1]} that holds no such position",
                              event=where, expected=self._book_text(key), seen=f"position {event.get('position_id')}")
            return
        ticks = self.ticks.get(key[1])
        at = ticks.index_at(event.get("timestamp", 0.0)) if ticks else -1
        market = ticks.prices[at] if ticks and at >= 0 else event.get("current_price")
        values = {"quantity": held.quantity, "entry_price": held.entry, "current_price": market}
        self._compare(key, where, values, event, "the book rebuilt from the fills, at the market price")
        if isinstance(market, int | float):
            want = _SIGN[held.side] * (market - held.entry) * held.quantity
            if not close(event.get("unrealized_pnl"), want, rel=1e-6):
                self.findings.add(
                    "oracle.model-unrealized-pnl", f"a mark-to-market of a {held.side} position is wrong", event=where,
                    expected=f"side x (price - entry) x quantity = {_SIGN[held.side]:+g} x ({market!r} - "
                             f"{held.entry!r}) x {held.quantity!r} = {want!r}",
                    seen=f"unrealized_pnl {event.get('unrealized_pnl')!r}")

    def _compare(self, key: tuple[str, str], where: str, expected: Mapping[str, Any], event: Mapping[str, Any],
                 source: str) -> None:
        for name, want in expected.items():
            if not close(event.get(name), want, rel=1e-6 if name.endswith("pnl") else 1e-9):
                rule = "oracle.model-unrealized-pnl" if name == "unrealized_pnl" else "oracle.model-position"
                self.findings.add(rule, f"the position of {key[0]} on {key[1]} differs from the model's at {name}",
                                  event=where, expected=f"{name} {want!r} ({source})",
                                  seen=f"{name} {event.get(name)!r}")
                return

    def _book_text(self, key: tuple[str, str]) -> str:
        held = self.book.get(key)
        return f"model: {held.side} {held.quantity!r} @ {held.entry!r} ({held.position_id})" if held else "model: flat"
