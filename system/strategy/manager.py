"""StrategyManager: indicator.updated in, signal_generated out, one state machine per
(strategy, symbol).

::

    IDLE --S1--> SIGNALLED --Z1 (BUY/SELL)--> IN_POSITION --E1 or ZE1 (CLOSE)--> IDLE
                     \\--timeout: S1 CANCEL--> IDLE

At most one signal per strategy per update, so an update never both enters and exits.
The manager tracks the position it *asked for* (entry price = the Z1 price), not the one
the order manager filled: a rejected entry is later closed by a CLOSE that the order
manager rejects with ``no_position``, which keeps every decision on the record.

Every signal carries a fresh ``signal_id`` from the Ids port and this session's
``session_id``; times are the update's event time, so a replay yields the same signals.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import anyio

from system import topics
from system.bus import EventBus, Subscription
from system.ports import Clock, Ids
from system.strategy.config import Condition, StrategyConfig, StrategyConfigError

log = logging.getLogger(__name__)

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class Phase(Enum):
    IDLE = "idle"
    SIGNALLED = "signalled"
    IN_POSITION = "in_position"


@dataclass(slots=True)
class _Track:
    """Where one strategy stands on one symbol."""

    phase: Phase = Phase.IDLE
    s1_signal_id: str = ""
    expires_at: float = 0.0
    quantity: float = 0.0
    entry_price: float = 0.0
    quiet_until: float = float("-inf")


_Test = tuple[str, Callable[[float, float], bool], float | str, str]
"""A condition made ready for the hot path: the value it reads, its operator, its bound (a
number, or the name of the value to read) and its key in ``conditions_met``."""


def _tests(conditions: tuple[Condition, ...]) -> tuple[_Test, ...]:
    return tuple((c.indicator, _OPERATORS[c.op], c.value, c.describe()) for c in conditions)


def _read(name: str, indicators: Mapping[str, float], price: float, pnl_pct: float | None) -> float | None:
    """A value a condition may name: an indicator of the update, ``price`` or ``pnl_pct``."""
    if name == "price":
        return price
    if name == "pnl_pct":
        return pnl_pct
    return indicators.get(name)


def _all_met(tests: tuple[_Test, ...], indicators: Mapping[str, float], price: float,
             pnl_pct: float | None) -> dict[str, float] | None:
    """``{description: observed value}`` if every condition holds, else None.  Runs for every
    strategy on every update and almost always fails early: it builds nothing until it holds."""
    observed_values: list[float] = []
    for name, holds, value, _ in tests:
        observed = _read(name, indicators, price, pnl_pct)
        if observed is None:
            return None
        bound = _read(value, indicators, price, pnl_pct) if isinstance(value, str) else value
        if bound is None or not holds(observed, bound):
            return None
        observed_values.append(observed)
    return {test[3]: observed for test, observed in zip(tests, observed_values, strict=True)}


@dataclass(frozen=True, slots=True)
class _StrategyTests:
    """One strategy's four condition lists, made ready once (``_tests``)."""

    s1: tuple[_Test, ...]
    z1: tuple[_Test, ...]
    e1: tuple[_Test, ...]
    ze1: tuple[_Test, ...]

    @classmethod
    def of(cls, strategy: StrategyConfig) -> _StrategyTests:
        return cls(_tests(strategy.s1), _tests(strategy.z1), _tests(strategy.e1), _tests(strategy.ze1))


class StrategyManager:
    """Signals for one session; subscribes to ``indicator.updated`` with role ``strategy``."""

    def __init__(self, bus: EventBus, ids: Ids, clock: Clock, *, session_id: str,
                 strategies: Iterable[StrategyConfig]) -> None:
        self._bus = bus
        self._ids = ids
        self._clock = clock  # event times come from the data; the clock is for future live pacing
        self.session_id = session_id
        self.strategies = tuple(strategies)
        ids_seen = [s.strategy_id for s in self.strategies]
        duplicates = sorted({i for i in ids_seen if ids_seen.count(i) > 1})
        if duplicates:
            raise StrategyConfigError(f"strategy_id used more than once: {duplicates}")
        self._tracks: dict[str, tuple[tuple[StrategyConfig, _Track], ...]] = {}
        for strategy in self.strategies:
            for symbol in strategy.symbols:
                self._tracks[symbol] = (*self._tracks.get(symbol, ()), (strategy, _Track()))
        self._tests = {strategy.strategy_id: _StrategyTests.of(strategy) for strategy in self.strategies}
        self._subscription: Subscription | None = None
        self.signal_counts: Counter[str] = Counter()

    async def start(self) -> None:
        if self._subscription is not None:
            return
        self._subscription = await self._bus.subscribe(
            topics.INDICATOR_UPDATED, self._on_indicator_update, component="StrategyManager", role="strategy",
        )
        log.info("strategy.started session=%s strategies=%s", self.session_id,
                 [s.strategy_id for s in self.strategies])

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await self._bus.unsubscribe(subscription)
            log.info("strategy.stopped session=%s signals=%s", self.session_id, dict(self.signal_counts))

    def resume(self, holdings: Iterable[tuple[str, str, float, float]]) -> None:
        """After a restart, before the first update: each ``(strategy_id, symbol, entry_price,
        quantity)`` the order manager's rebuilt book holds (open, or an entry still working) is
        IN_POSITION again, so the strategy watches its exit instead of entering a second time.
        The Z1 price is not kept; the position's entry price stands in for it."""
        for strategy_id, symbol, entry_price, quantity in holdings:
            for strategy, track in self._tracks.get(symbol, ()):
                if strategy.strategy_id == strategy_id:
                    track.phase, track.entry_price, track.quantity = Phase.IN_POSITION, entry_price, quantity

    def phase(self, strategy_id: str, symbol: str) -> Phase:
        """Where ``strategy_id`` stands on ``symbol`` (for tests and diagnostics)."""
        for strategy, track in self._tracks.get(symbol, ()):
            if strategy.strategy_id == strategy_id:
                return track.phase
        raise KeyError(f"strategy {strategy_id!r} does not trade {symbol!r}")

    async def _on_indicator_update(self, payload: dict[str, Any]) -> None:
        if payload["session_id"] != self.session_id:
            return
        tracks = self._tracks.get(payload["symbol"])
        if not tracks:
            return
        for strategy, track in tracks:
            signal = self._step(strategy, track, payload)
            if signal is not None:
                self.signal_counts[signal["signal_type"]] += 1
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("strategy.signal %s", signal)
                with anyio.CancelScope(shield=True):  # the track moved on: its signal is delivered whole
                    await self._bus.publish(topics.SIGNAL_GENERATED, signal)

    def _step(self, strategy: StrategyConfig, track: _Track, update: dict[str, Any]) -> dict[str, Any] | None:
        """Advance one state machine by one update; the signal it emits, if any."""
        tests = self._tests[strategy.strategy_id]
        if track.phase is Phase.IDLE:
            return self._entry_signal(strategy, tests, track, update)
        if track.phase is Phase.SIGNALLED:
            return self._entry_zone(strategy, tests, track, update)
        return self._exit(strategy, tests, track, update)

    def _entry_signal(self, strategy: StrategyConfig, tests: _StrategyTests, track: _Track,
                      update: dict[str, Any]) -> dict[str, Any] | None:
        now = update["timestamp"]
        if now < track.quiet_until:
            return None
        price = update["price"]
        met = _all_met(tests.s1, update["values"], price, None)
        if met is None:
            return None
        track.phase = Phase.SIGNALLED
        track.expires_at = now + strategy.signal_timeout
        track.quantity = strategy.quantity if strategy.quantity is not None else strategy.notional / price
        signal = self._signal(strategy, update, "S1", strategy.entry_action, track.quantity, met,
                              {"expires_at": track.expires_at})
        track.s1_signal_id = signal["signal_id"]
        return signal

    def _entry_zone(self, strategy: StrategyConfig, tests: _StrategyTests, track: _Track,
                    update: dict[str, Any]) -> dict[str, Any] | None:
        if update["timestamp"] > track.expires_at:
            track.phase = Phase.IDLE
            return self._signal(strategy, update, "S1", "CANCEL", track.quantity, {},
                                {"reason": "s1_expired", "s1_signal_id": track.s1_signal_id})
        price = update["price"]
        met = _all_met(tests.z1, update["values"], price, None)
        if met is None:
            return None
        track.phase = Phase.IN_POSITION
        track.entry_price = price
        if strategy.quantity is None:
            track.quantity = strategy.notional / price
        sign = 1.0 if strategy.side == "LONG" else -1.0
        return self._signal(strategy, update, "Z1", strategy.entry_action, track.quantity, met, {
            "s1_signal_id": track.s1_signal_id,
            "stop_loss": price * (1.0 - sign * strategy.stop_loss_pct / 100.0),
            "take_profit": price * (1.0 + sign * strategy.take_profit_pct / 100.0),
        })

    def _exit(self, strategy: StrategyConfig, tests: _StrategyTests, track: _Track,
              update: dict[str, Any]) -> dict[str, Any] | None:
        price = update["price"]
        move_pct = (price / track.entry_price - 1.0) * 100.0
        pnl_pct = move_pct if strategy.side == "LONG" else -move_pct
        indicators = update["values"]
        if pnl_pct <= -strategy.stop_loss_pct:
            signal_type, reason, met = "E1", "stop_loss", {f"pnl_pct <= -{strategy.stop_loss_pct:g}": pnl_pct}
        elif tests.e1 and (met := _all_met(tests.e1, indicators, price, pnl_pct)) is not None:
            signal_type, reason = "E1", "e1_conditions"
        elif pnl_pct >= strategy.take_profit_pct:
            signal_type, reason, met = "ZE1", "take_profit", {f"pnl_pct >= {strategy.take_profit_pct:g}": pnl_pct}
        elif tests.ze1 and (met := _all_met(tests.ze1, indicators, price, pnl_pct)) is not None:
            signal_type, reason = "ZE1", "ze1_conditions"
        else:
            return None
        track.phase = Phase.IDLE
        track.quiet_until = update["timestamp"] + strategy.cooldown
        return self._signal(strategy, update, signal_type, "CLOSE", track.quantity, met,
                            {"reason": reason, "entry_price": track.entry_price, "pnl_pct": pnl_pct,
                             "s1_signal_id": track.s1_signal_id})

    def _signal(self, strategy: StrategyConfig, update: dict[str, Any], signal_type: str, action: str,
                quantity: float, conditions_met: dict[str, float], metadata: dict[str, Any]) -> dict[str, Any]:
        return {
            "signal_id": self._ids.new_id("sig"),
            "session_id": self.session_id,
            "strategy_id": strategy.strategy_id,
            "symbol": update["symbol"],
            "signal_type": signal_type,
            "action": action,
            "triggered": True,
            "price": update["price"],
            "quantity": quantity,
            "conditions_met": conditions_met,
            "indicator_values": dict(update["values"]),
            "metadata": {"side": strategy.side, **metadata},
            "timestamp": update["timestamp"],
        }
