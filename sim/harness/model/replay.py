"""The strategies' signal cycle replayed as the run goes: which signals *should* have fired.

``signals.py`` judges the signals that were published; a strategy that never fires (an entry
zone that can no longer be reached, an expiry on the wrong clock that cancels every entry,
state shared across symbols that keeps a symbol quiet) publishes nothing to judge.  This
bus observer runs the documented cycle (``system/strategy/config.py``) over every
``indicator.updated`` as it is published, on the values it carries (those are checked
against their definitions by ``indicators.py``), and keeps the signals it expects; the check
compares them with the published ones, per (strategy, symbol), first difference first.

It stores nothing per tick: a few comparisons per strategy and update, no copies.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.harness.model.findings import Findings
from sim.harness.observing import PublishObserver
from system import topics

_OPS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le,
                                                  ">": operator.gt, ">=": operator.ge}
RULE = "oracle.model-signals"
Expected = tuple[float, str, str, str, str]
"""``(timestamp, strategy_id, symbol, signal_type, action)``."""


@dataclass(slots=True)
class _Cycle:
    phase: str = "IDLE"
    expires_at: float = 0.0
    entry_price: float = 0.0
    quiet_until: float = float("-inf")


_Check = tuple[str, Callable[[float, float], bool], Any]
"""``(value name, operator, bound)``: a condition read once, not at every update."""


@dataclass(frozen=True, slots=True)
class _Checks:
    s1: tuple[_Check, ...]
    z1: tuple[_Check, ...]
    e1: tuple[_Check, ...]
    ze1: tuple[_Check, ...]

    @classmethod
    def of(cls, strategy: Any) -> _Checks:
        def read(conditions: Sequence[Any]) -> tuple[_Check, ...]:
            return tuple((c.indicator, _OPS[c.op], c.value) for c in conditions)
        return cls(read(strategy.s1), read(strategy.z1), read(strategy.e1), read(strategy.ze1))


class StrategyReplay(PublishObserver):
    """A bus observer: the signals each session's strategies should publish."""

    def __init__(self, strategies: Sequence[Any]) -> None:
        self._by_symbol: dict[str, list[Any]] = {}
        for strategy in strategies:
            for symbol in strategy.symbols:
                self._by_symbol.setdefault(symbol, []).append(strategy)
        self._checks = {strategy.strategy_id: _Checks.of(strategy) for strategy in strategies}
        self._cycles: dict[tuple[str, str], tuple[tuple[Any, _Cycle, _Checks], ...]] = {}
        """Per (session, symbol): each strategy trading the symbol, with its cycle."""
        self.expected: dict[str, list[Expected]] = {}


    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        if topic != topics.INDICATOR_UPDATED:
            return
        key = (payload.get("session_id", ""), payload.get("symbol", ""))
        cycles = self._cycles.get(key)
        if cycles is None:
            cycles = self._cycles[key] = tuple((s, _Cycle(), self._checks[s.strategy_id])
                                               for s in self._by_symbol.get(key[1], ()))
        for strategy, cycle, checks in cycles:
            fired = _step(strategy, checks, cycle, payload)
            if fired is not None:
                self.expected.setdefault(key[0], []).append(
                    (payload["timestamp"], strategy.strategy_id, key[1], *fired))


def _step(strategy: Any, checks: _Checks, cycle: _Cycle, update: Mapping[str, Any]) -> tuple[str, str] | None:
    """One update of one cycle, as specified; the ``(signal_type, action)`` it fires, if any."""
    now, price, values = update["timestamp"], update["price"], update["values"]
    if cycle.phase == "IDLE":
        if now < cycle.quiet_until or not _all(checks.s1, values, price, None):
            return None
        cycle.phase, cycle.expires_at = "SIGNALLED", now + strategy.signal_timeout
        return "S1", strategy.entry_action
    if cycle.phase == "SIGNALLED":
        if now > cycle.expires_at:
            cycle.phase = "IDLE"
            return "S1", "CANCEL"
        if not _all(checks.z1, values, price, None):
            return None
        cycle.phase, cycle.entry_price = "IN_POSITION", price
        return "Z1", strategy.entry_action
    move = (price / cycle.entry_price - 1.0) * 100.0
    pnl_pct = move if strategy.side == "LONG" else -move
    if pnl_pct <= -strategy.stop_loss_pct or (checks.e1 and _all(checks.e1, values, price, pnl_pct)):
        kind = "E1"
    elif pnl_pct >= strategy.take_profit_pct or (checks.ze1 and _all(checks.ze1, values, price, pnl_pct)):
        kind = "ZE1"
    else:
        return None
    cycle.phase, cycle.quiet_until = "IDLE", now + strategy.cooldown
    return kind, "CLOSE"


def _all(checks: tuple[_Check, ...], values: Mapping[str, float], price: float, pnl_pct: float | None) -> bool:
    for name, holds, bound in checks:
        observed = _value(name, values, price, pnl_pct)
        if isinstance(bound, str):
            bound = _value(bound, values, price, pnl_pct)
        if observed is None or bound is None or not holds(observed, bound):
            return False
    return True


def _value(name: str, values: Mapping[str, float], price: float, pnl_pct: float | None) -> float | None:
    if name == "price":
        return price
    if name == "pnl_pct":
        return pnl_pct
    return values.get(name)


def check_replayed(expected: Sequence[Expected], signals: Sequence[Mapping[str, Any]], findings: Findings) -> None:
    """The published signals equal the replayed ones, per (strategy, symbol)."""
    wanted: dict[tuple[str, str], list[Expected]] = {}
    for row in expected:
        wanted.setdefault((row[1], row[2]), []).append(row)
    seen: dict[tuple[str, str], list[Expected]] = {}
    for s in signals:
        row = (s.get("timestamp", 0.0), s.get("strategy_id", ""), s.get("symbol", ""), s.get("signal_type", ""),
               s.get("action", ""))
        seen.setdefault((row[1], row[2]), []).append(row)
    firsts = []
    for key in sorted(set(wanted) | set(seen)):
        mine, theirs = wanted.get(key, []), seen.get(key, [])
        shorter = min(len(mine), len(theirs))
        at = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), shorter)
        if at < max(len(mine), len(theirs)):
            firsts.append((key, at, mine[at] if at < len(mine) else None, theirs[at] if at < len(theirs) else None,
                           len(mine), len(theirs)))
    for key, at, want, got, n_want, n_got in sorted(firsts, key=lambda f: min(r[0] for r in (f[2], f[3]) if r)):
        findings.add(
            RULE, f"the signals of {key[0]} on {key[1]} differ from the documented cycle replayed over the "
            f"reported indicator values ({n_got} published, {n_want} expected)",
            event=f"signal #{at + 1} of {key[0]} on {key[1]} at t={(got or want)[0]}",  # type: ignore[index]
            expected=_text(want), seen=_text(got))


def _text(row: Expected | None) -> str:
    return "no further signal" if row is None else f"{row[3]} {row[4]} at t={row[0]}"
