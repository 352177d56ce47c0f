"""StreamingIndicatorEngine: market.price_update in, indicator.updated out, per session.

One ``indicator.updated`` per price update of this session (warm-up rules in
:mod:`system.indicators.streaming`: indicators still warming up are absent from ``values``).
Indicator state is per symbol, created on the symbol's first update, so the engine needs no
symbol list and a symbol never seen costs nothing.

Hot path: one dict lookup for the symbol, one ``update`` per spec, one new ``values`` dict
(handed to subscribers as is: it is never touched again by the engine), no logging above
DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from system import topics
from system.bus import EventBus, Subscription
from system.indicators.spec import IndicatorSpec, check_unique_names
from system.indicators.streaming import make_indicator

log = logging.getLogger(__name__)

_INF = float("inf")


class IndicatorInputError(ValueError):
    """A price update the engine cannot use; the message names the session, symbol and field."""


class _SymbolIndicators:
    """One symbol's indicators, held as bound ``update`` methods (one lookup less per tick)."""

    __slots__ = ("last_timestamp", "symbol", "updates")

    def __init__(self, symbol: str, specs: tuple[IndicatorSpec, ...]) -> None:
        self.symbol = symbol
        self.updates: tuple[tuple[str, Callable[[float, float, float], float | None]], ...] = tuple(
            (spec.name, make_indicator(spec).update) for spec in specs
        )
        self.last_timestamp = -_INF

    def update(self, timestamp: float, price: float, volume: float) -> dict[str, float]:
        values: dict[str, float] = {}
        for name, update in self.updates:
            value = update(timestamp, price, volume)
            if value is not None:
                values[name] = value
        return values


class StreamingIndicatorEngine:
    """Incremental indicators for one session; subscribes with role ``indicators``."""

    def __init__(self, bus: EventBus, *, session_id: str, specs: Iterable[IndicatorSpec]) -> None:
        self._bus = bus
        self.session_id = session_id
        self.specs = tuple(specs)
        check_unique_names(self.specs)
        self._symbols: dict[str, _SymbolIndicators] = {}
        self._subscription: Subscription | None = None
        self.updates_published = 0

    async def start(self) -> None:
        if self._subscription is not None:
            return
        self._subscription = await self._bus.subscribe(
            topics.MARKET_PRICE_UPDATE, self._on_price_update,
            component="StreamingIndicatorEngine", role="indicators",
        )
        log.info("indicators.started session=%s specs=%s", self.session_id, [s.name for s in self.specs])

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await self._bus.unsubscribe(subscription)
            log.info("indicators.stopped session=%s updates=%d", self.session_id, self.updates_published)

    async def _on_price_update(self, payload: dict[str, Any]) -> None:
        if payload["session_id"] != self.session_id:
            return
        symbol = payload["symbol"]
        timestamp = payload["timestamp"]
        price = payload["price"]
        volume = payload["volume"]
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = _SymbolIndicators(symbol, self.specs)
        try:
            usable = 0.0 < price < _INF and 0.0 <= volume < _INF and timestamp >= state.last_timestamp
        except TypeError:
            usable = False
        if not usable:
            raise IndicatorInputError(self._describe_bad_input(state, payload))
        state.last_timestamp = timestamp
        values = state.update(timestamp, price, volume)
        self.updates_published += 1
        await self._bus.publish(topics.INDICATOR_UPDATED, {
            "session_id": self.session_id,
            "symbol": symbol,
            "timestamp": timestamp,
            "price": price,
            "values": values,
        })

    def _describe_bad_input(self, state: _SymbolIndicators, payload: dict[str, Any]) -> str:
        where = (f"market.price_update session={self.session_id} symbol={state.symbol}"
                 f" seq={payload.get('seq')}")
        checks = (
            ("price", "a finite number > 0", lambda v: 0 < v < _INF),
            ("volume", "a finite number >= 0", lambda v: 0 <= v < _INF),
            ("timestamp", f"epoch seconds >= the previous {state.last_timestamp}",
             lambda v: v >= state.last_timestamp),
        )
        for field, expected, ok in checks:
            value = payload[field]
            if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
                return f"{where}: {field} must be {expected}, got {value!r}"
        return f"{where}: unusable payload {payload!r}"
