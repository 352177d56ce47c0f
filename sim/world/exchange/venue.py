"""SimulatedMexcExchange: the matching engine and accounts behind the simulated MEXC futures API.

Pure state and rules, no I/O: ``sim.world.exchange.api`` turns HTTP requests into calls on it,
``sim.world.exchange.transport`` mounts that behind httpx, ``sim.world.exchange.stream`` delivers its
pushes.  Time is the caller's (``now`` in epoch seconds), so the engine runs the same under
either kernel and behind a real socket.

Market model: the simulated market's ticks are the exchange's trades.  ``on_tick`` (called
once per new tick; repeats are ignored) matches the working orders of that symbol against the
tick, each tick offering each order up to ``LIQUIDITY_SHARE`` of its volume, so a large order
fills in several deals at successive prices (partial fills).  Orders do not compete for that
liquidity: sessions trading side by side on one account get the fills each would get alone.  Orders:

- market (5): taker, at the price of each following tick, until filled;
- limit (1): rests; fills as a maker at its price on a tick at or through it;
- post-only (2): refused (cancelled at once) if it would cross the last price, else a limit;
- IOC (3) / FOK (4): against the last tick at once, as a taker; IOC cancels what is left,
  FOK fills everything or nothing.

An order fills no earlier than ``fill_delay()`` virtual seconds after it was accepted (the
"delayed fills" fault).  Accounts: one per API key; isolated margin ``price x vol x
contractSize / leverage`` locked while a position is open; fees charged on every deal
(``taker_fee`` / ``maker_fee`` of the notional); ``positionMode`` 1 hedge (a long and a short
per symbol) or 2 one-way (one net position per symbol: an open against a held position reduces
it first).  The exchange does *not* deduplicate ``externalOid``: a client that submits twice
gets two orders, which is the failure the live oracles look for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.world.exchange.contracts import contract
from system.ports import Tick

LIQUIDITY_SHARE = 0.03
"""Fraction of a tick's volume one tick offers to each resting or market order."""

HEDGE, ONE_WAY = 1, 2
OPEN_LONG, CLOSE_SHORT, OPEN_SHORT, CLOSE_LONG = 1, 2, 3, 4
LIMIT, POST_ONLY, IOC, FOK, MARKET = 1, 2, 3, 4, 5
UNCOMPLETED, COMPLETED, CANCELLED = 2, 3, 4
LONG, SHORT = 1, 2


class ApiError(Exception):
    """An API error reply: ``code`` and message as MEXC sends them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# MEXC contract API error codes the simulator answers with
PARAM_ERROR = 600
CONTRACT_NOT_FOUND = 1001
INSUFFICIENT_BALANCE = 2005
INSUFFICIENT_POSITION = 2008
ORDER_NOT_FOUND = 2009
LEVERAGE_OUT_OF_RANGE = 2015
POSITION_MODE_MISMATCH = 6005


@dataclass
class SimOrder:
    order_id: str
    external_oid: str
    symbol: str
    side: int
    order_type: int
    vol: float
    price: float
    leverage: int
    create_time: float
    not_before: float
    state: int = UNCOMPLETED
    deal_vol: float = 0.0
    deal_value: float = 0.0  # sum of vol x price
    update_time: float = 0.0

    @property
    def remaining(self) -> float:
        return self.vol - self.deal_vol

    def view(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id, "symbol": self.symbol, "externalOid": self.external_oid, "side": self.side,
            "orderType": self.order_type, "state": self.state, "vol": self.vol, "price": self.price,
            "leverage": self.leverage, "dealVol": self.deal_vol,
            "dealAvgPrice": self.deal_value / self.deal_vol if self.deal_vol else 0.0,
            "createTime": _ms(self.create_time), "updateTime": _ms(self.update_time),
        }


@dataclass
class SimPosition:
    position_id: str
    symbol: str
    position_type: int
    leverage: int
    hold_vol: float = 0.0
    hold_avg_price: float = 0.0
    margin: float = 0.0
    realised: float = 0.0

    def view(self) -> dict[str, Any]:
        return {"positionId": self.position_id, "symbol": self.symbol, "positionType": self.position_type,
                "openType": 1, "state": 1 if self.hold_vol else 3, "holdVol": self.hold_vol,
                "holdAvgPrice": self.hold_avg_price, "im": self.margin, "realised": self.realised,
                "leverage": self.leverage}


@dataclass
class Account:
    balance: float
    position_mode: int = HEDGE
    positions: dict[tuple[str, int], SimPosition] = field(default_factory=dict)
    fees: float = 0.0

    def used_margin(self) -> float:
        return sum(p.margin for p in self.positions.values())

    def available(self) -> float:
        return self.balance - self.used_margin()


Push = Callable[[str, str, dict[str, Any]], None]
"""``push(api_key, channel, data)``: hands one private update to the account's listeners."""


class SimulatedMexcExchange:
    def __init__(self, accounts: dict[str, Account], *, taker_fee: float = 0.0004, maker_fee: float = 0.0002,
                 fill_delay: Callable[[], float] = lambda: 0.0) -> None:
        self.accounts = accounts
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self._fill_delay = fill_delay
        self.orders: dict[str, SimOrder] = {}  # every order ever accepted, by id, in acceptance order
        self._owner: dict[str, str] = {}  # order id -> api key
        self._last: dict[str, Tick] = {}
        self._sequence = 0
        self._listeners: list[Push] = []

    def add_listener(self, push: Push) -> None:
        self._listeners.append(push)

    def remove_listener(self, push: Push) -> None:
        self._listeners.remove(push)

    # -- API operations (``api_key`` identifies the account) --------------------------------

    def contract_detail(self, symbol: str) -> dict[str, Any]:
        if not symbol:
            raise ApiError(PARAM_ERROR, "symbol is required")
        return contract(symbol)

    def submit(self, api_key: str, body: dict[str, Any], now: float) -> str:
        account = self.accounts[api_key]
        symbol, side, kind = body.get("symbol"), body.get("side"), body.get("type")
        vol, price, leverage = body.get("vol"), body.get("price"), body.get("leverage", 1)
        spec = self._spec(symbol)
        if side not in (1, 2, 3, 4) or kind not in (1, 2, 3, 4, 5):
            raise ApiError(PARAM_ERROR, f"side {side!r} / type {kind!r} unknown")
        if not isinstance(vol, int | float) or not spec["minVol"] <= vol <= spec["maxVol"] \
                or not _multiple(vol, spec["volUnit"]):
            raise ApiError(PARAM_ERROR, f"vol {vol!r} outside [{spec['minVol']}, {spec['maxVol']}] or not a "
                                        f"multiple of {spec['volUnit']}")
        if not isinstance(price, int | float) or price <= 0:
            raise ApiError(PARAM_ERROR, f"price {price!r} must be > 0")
        if not isinstance(leverage, int) or not 1 <= leverage <= spec["maxLeverage"]:
            raise ApiError(LEVERAGE_OUT_OF_RANGE, f"leverage {leverage!r} outside 1..{spec['maxLeverage']}")
        if body.get("positionMode", account.position_mode) != account.position_mode:
            raise ApiError(POSITION_MODE_MISMATCH, "positionMode differs from the account's")
        last = self._last.get(symbol)
        reference = last.price if last else price
        if not self._closes(account, symbol, side):
            need = reference * vol * spec["contractSize"] * (1.0 / leverage + self.taker_fee)
            if need > account.available():
                raise ApiError(INSUFFICIENT_BALANCE, f"margin {need:.4f} above available {account.available():.4f}")
        else:
            held = account.positions.get((symbol, self._closed_type(side)))
            if held is None or held.hold_vol < vol - 1e-9:
                raise ApiError(INSUFFICIENT_POSITION, f"close of {vol} contracts above the position held")
        self._sequence += 1
        order = SimOrder(f"{self._sequence:018d}", str(body.get("externalOid", "")), symbol, side, kind, float(vol),
                         float(price), leverage, now, now + self._fill_delay(), update_time=now)
        self.orders[order.order_id] = order
        self._owner[order.order_id] = api_key
        self._push_order(order)
        if kind == POST_ONLY and last is not None and _crosses(order, last.price):
            self._finish(order, CANCELLED, now)
        elif kind in (IOC, FOK):
            self._match_now(order, now)
        return order.order_id

    def cancel(self, api_key: str, order_ids: list[Any], now: float) -> list[dict[str, Any]]:
        results = []
        for order_id in order_ids:
            order = self.orders.get(str(order_id))
            if order is None or self._owner[order.order_id] != api_key:
                results.append({"orderId": order_id, "errorCode": ORDER_NOT_FOUND, "errorMsg": "order not found"})
            elif order.state != UNCOMPLETED:
                results.append({"orderId": order_id, "errorCode": 2041, "errorMsg": "order already final"})
            else:
                self._finish(order, CANCELLED, now)
                results.append({"orderId": order_id, "errorCode": 0})
        return results

    def order_by_external_oid(self, api_key: str, symbol: str, external_oid: str) -> dict[str, Any]:
        for order in reversed(self.orders.values()):  # the latest, if a client placed it twice
            if order.external_oid == external_oid and order.symbol == symbol and self._owner[order.order_id] == api_key:
                return order.view()
        raise ApiError(ORDER_NOT_FOUND, "order does not exist")

    def open_positions(self, api_key: str, symbol: str | None) -> list[dict[str, Any]]:
        return [p.view() for p in self.accounts[api_key].positions.values()
                if p.hold_vol > 0 and symbol in (None, p.symbol)]

    def assets(self, api_key: str) -> list[dict[str, Any]]:
        account = self.accounts[api_key]
        return [{"currency": "USDT", "equity": account.balance, "availableBalance": account.available(),
                 "positionMargin": account.used_margin()}]

    # -- the market ----------------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """A trade of the market: match the symbol's working orders against it (once per tick)."""
        last = self._last.get(tick.symbol)
        if last is not None and tick.timestamp <= last.timestamp:
            return
        self._last[tick.symbol] = tick
        now = tick.timestamp.timestamp()
        spec = self._spec(tick.symbol)
        liquidity = max(spec["volUnit"], _floor_to(tick.volume * LIQUIDITY_SHARE / spec["contractSize"],
                                                     spec["volUnit"]))
        for order in [o for o in self.orders.values() if o.symbol == tick.symbol and o.state == UNCOMPLETED]:
            if now <= order.create_time or now < order.not_before:
                continue
            if order.order_type == MARKET:
                self._deal(order, min(order.remaining, liquidity), tick.price, now, taker=True)
            elif order.order_type in (LIMIT, POST_ONLY) and _crosses(order, tick.price):
                self._deal(order, min(order.remaining, liquidity), order.price, now, taker=False)

    def _match_now(self, order: SimOrder, now: float) -> None:
        last = self._last.get(order.symbol)
        spec = self._spec(order.symbol)
        available = _floor_to(last.volume * LIQUIDITY_SHARE / spec["contractSize"], spec["volUnit"]) if last else 0.0
        if last is not None and _crosses(order, last.price) and (order.order_type == IOC or available >= order.vol):
            self._deal(order, min(order.vol, available), last.price, now, taker=True)
        if order.state == UNCOMPLETED:
            self._finish(order, CANCELLED, now)

    def _deal(self, order: SimOrder, vol: float, price: float, now: float, *, taker: bool) -> None:
        if vol <= 0:
            return
        api_key = self._owner[order.order_id]
        account = self.accounts[api_key]
        spec = self._spec(order.symbol)
        fee = price * vol * spec["contractSize"] * (self.taker_fee if taker else self.maker_fee)
        account.fees += fee
        account.balance -= fee
        profit = self._settle_position(account, order, vol, price, spec["contractSize"])
        order.deal_vol += vol
        order.deal_value += vol * price
        order.update_time = now
        self._sequence += 1
        self._emit(api_key, "push.personal.order.deal", {
            "id": f"{self._sequence:018d}", "orderId": order.order_id, "externalOid": order.external_oid,
            "symbol": order.symbol, "side": order.side, "vol": vol, "price": price, "fee": fee, "profit": profit,
            "isTaker": taker, "timestamp": _ms(now)})
        if order.remaining <= 1e-9:
            self._finish(order, COMPLETED, now)
        else:
            self._push_order(order)

    def _settle_position(self, account: Account, order: SimOrder, vol: float, price: float, size: float) -> float:
        """Apply a deal to the account's position; returns the realised profit of a close."""
        opening = order.side in (OPEN_LONG, OPEN_SHORT) and not self._closes(account, order.symbol, order.side)
        kind = (LONG if order.side == OPEN_LONG else SHORT) if opening else self._closed_type(order.side)
        key = (order.symbol, kind)
        position = account.positions.get(key)
        if position is None or position.hold_vol == 0:
            self._sequence += 1
            position = account.positions[key] = SimPosition(f"{self._sequence:018d}", order.symbol, kind,
                                                            order.leverage)
        profit = 0.0
        if opening:
            total = position.hold_vol + vol
            position.hold_avg_price = (position.hold_avg_price * position.hold_vol + price * vol) / total
            position.hold_vol = total
            position.margin += price * vol * size / order.leverage
        else:
            close = min(vol, position.hold_vol)
            sign = 1.0 if kind == LONG else -1.0
            profit = sign * (price - position.hold_avg_price) * close * size
            position.margin *= (position.hold_vol - close) / position.hold_vol
            position.hold_vol -= close
            position.realised += profit
            account.balance += profit
            if position.hold_vol <= 1e-9:
                position.hold_vol, position.margin = 0.0, 0.0
        self._emit(self._owner[order.order_id], "push.personal.position", position.view())
        return profit

    def _closes(self, account: Account, symbol: str, side: int) -> bool:
        """Does ``side`` reduce a held position?  Hedge: the close sides.  One-way: any side
        against the net position held."""
        if account.position_mode == HEDGE:
            return side in (CLOSE_LONG, CLOSE_SHORT)
        opposite = SHORT if side in (OPEN_LONG, CLOSE_SHORT) else LONG
        held = account.positions.get((symbol, opposite))
        return side in (CLOSE_LONG, CLOSE_SHORT) or (held is not None and held.hold_vol > 0)

    @staticmethod
    def _closed_type(side: int) -> int:
        """The position a reducing ``side`` takes from: buying reduces a short."""
        return SHORT if side in (CLOSE_SHORT, OPEN_LONG) else LONG

    def _finish(self, order: SimOrder, state: int, now: float) -> None:
        order.state = state
        order.update_time = now
        self._push_order(order)

    def _push_order(self, order: SimOrder) -> None:
        self._emit(self._owner[order.order_id], "push.personal.order", order.view())

    def _emit(self, api_key: str, channel: str, data: dict[str, Any]) -> None:
        for push in list(self._listeners):
            push(api_key, channel, data)

    def _spec(self, symbol: Any) -> dict[str, Any]:
        if not isinstance(symbol, str) or not symbol:
            raise ApiError(CONTRACT_NOT_FOUND, f"contract {symbol!r} does not exist")
        return contract(symbol)


def _crosses(order: SimOrder, price: float) -> bool:
    buying = order.side in (OPEN_LONG, CLOSE_SHORT)
    return price <= order.price if buying else price >= order.price


def _floor_to(value: float, unit: float) -> float:
    return math.floor(value / unit + 1e-9) * unit


def _multiple(value: float, unit: float) -> bool:
    return abs(value / unit - round(value / unit)) < 1e-9


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
