"""The signal cycle of each (strategy, symbol), replayed from the recorded signals.

What is modelled is what ``system/strategy/config.py`` specifies, and nothing of how the
manager is written:

- ``S1`` (entry action) from IDLE, not before the cooldown after the last exit is over; it
  opens a window of ``signal_timeout`` seconds of *event time* (``metadata.expires_at``);
- ``Z1`` (entry action) within that window, referring to its S1 (``metadata.s1_signal_id``),
  sized ``quantity`` or ``notional / price``;
- no Z1 in time: a CANCEL of that S1 at the symbol's first update after the window;
- ``E1``/``ZE1`` CLOSE only in a position, referring to the S1 that opened it; a stop-loss or
  take-profit exit only when the price really moved that far from the Z1 price;
- every S1 and Z1 fires only when all its conditions hold on the values it reports.

A track is per (strategy, symbol): a signal that refers to an S1 of another symbol or
strategy is state shared where the specification keeps it apart.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.harness.model.findings import Findings, close, describe
from sim.harness.model.indicators import Ticks
from system import topics

_OPS: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le,
                                                  ">": operator.gt, ">=": operator.ge}
RULE = "oracle.model-signal-chain"


@dataclass
class _Track:
    phase: str = "IDLE"  # IDLE, SIGNALLED, IN_POSITION
    s1: Mapping[str, Any] | None = None
    entry_price: float = 0.0
    quiet_until: float = float("-inf")


def check_signals(signals: Sequence[Mapping[str, Any]], strategies: Sequence[Any], ticks: Mapping[str, Ticks],
                  findings: Findings) -> None:
    by_id = {s.strategy_id: s for s in strategies}
    tracks: dict[tuple[str, str], _Track] = {}
    for signal in signals:
        where = describe(topics.SIGNAL_GENERATED, signal)
        strategy = by_id.get(signal.get("strategy_id"))
        if strategy is None or signal.get("symbol") not in strategy.symbols:
            findings.add(RULE, "a signal of no configured (strategy, symbol)", event=where,
                         expected=f"one of {sorted(by_id)} on its symbols",
                         seen=f"{signal.get('strategy_id')} on {signal.get('symbol')}")
            continue
        track = tracks.setdefault((strategy.strategy_id, signal["symbol"]), _Track())
        problem = _step(strategy, track, signal, ticks.get(signal["symbol"]))
        if problem is not None:
            expected, seen = problem
            findings.add(RULE, f"{signal.get('signal_type')} {signal.get('action')} breaks the signal cycle of "
                         f"{strategy.strategy_id} on {signal['symbol']}", event=where, expected=expected, seen=seen)
    for (strategy_id, symbol), track in sorted(tracks.items()):
        symbol_ticks = ticks.get(symbol)
        if track.phase != "SIGNALLED" or track.s1 is None or symbol_ticks is None:
            continue
        expiry = track.s1["timestamp"] + by_id[strategy_id].signal_timeout
        if symbol_ticks.times and symbol_ticks.times[-1] > expiry:
            findings.add(RULE, f"an S1 of {strategy_id} on {symbol} expired and was never cancelled",
                         event=describe(topics.SIGNAL_GENERATED, track.s1),
                         expected=f"S1 CANCEL at the first update after t={expiry}",
                         seen=f"no Z1 or CANCEL; the symbol traded until t={symbol_ticks.times[-1]}")


def _step(strategy: Any, track: _Track, signal: Mapping[str, Any],
          symbol_ticks: Ticks | None) -> tuple[str, str] | None:
    """Advance the track by one signal; ``(expected, seen)`` if the signal does not fit."""
    kind, action, now = signal.get("signal_type"), signal.get("action"), signal.get("timestamp", 0.0)
    meta = signal.get("metadata") or {}
    refers = meta.get("s1_signal_id")
    s1_id = track.s1.get("signal_id") if track.s1 is not None else None
    if kind == "S1" and action != "CANCEL":
        if track.phase != "IDLE":
            return "S1 only when idle", f"S1 while {track.phase} (open S1 {s1_id})"
        if now < track.quiet_until:
            return f"no S1 before the cooldown ends at t={track.quiet_until}", f"S1 at t={now}"
        expires = now + strategy.signal_timeout
        if not close(meta.get("expires_at"), expires):
            return (f"expires_at = t + signal_timeout = {expires} (event time)",
                    f"expires_at={meta.get('expires_at')!r}")
        problem = _entry_checks(strategy, signal, strategy.s1)
        track.phase, track.s1 = "SIGNALLED", signal
        return problem
    if kind == "S1":  # CANCEL
        if track.phase != "SIGNALLED" or refers != s1_id:
            return f"a CANCEL of the open S1 ({s1_id or 'none open'})", f"CANCEL of {refers!r} while {track.phase}"
        track.phase = "IDLE"
        expiry = track.s1["timestamp"] + strategy.signal_timeout if track.s1 else now
        if not now > expiry:
            return f"CANCEL only after the window ends at t={expiry} (event time of the S1 + signal_timeout)", \
                f"CANCEL at t={now}"
        after = symbol_ticks.index_at(expiry) + 1 if symbol_ticks else 0
        due = symbol_ticks.times[after] if symbol_ticks and after < len(symbol_ticks.times) else now
        if now > due:
            return f"CANCEL at the symbol's first update after the window: t={due}", f"CANCEL at t={now}"
        return None
    if kind == "Z1":
        if track.phase != "SIGNALLED" or refers != s1_id:
            return f"Z1 after its S1 ({s1_id or 'none open'})", f"Z1 referring to {refers!r} while {track.phase}"
        expiry = track.s1["timestamp"] + strategy.signal_timeout if track.s1 else now
        track.phase, track.entry_price = "IN_POSITION", signal.get("price", 0.0)
        if now > expiry:
            return f"Z1 within the window ending at t={expiry}", f"Z1 at t={now}"
        return _entry_checks(strategy, signal, strategy.z1)
    if kind in ("E1", "ZE1"):
        if track.phase != "IN_POSITION" or refers != s1_id:
            return (f"{kind} in the position opened after S1 {s1_id}",
                    f"{kind} referring to {refers!r} while {track.phase}")
        track.phase, track.quiet_until = "IDLE", now + strategy.cooldown
        return _exit_checks(strategy, track, signal)
    return "signal_type S1, Z1, ZE1 or E1", f"{kind!r}"


def _entry_checks(strategy: Any, signal: Mapping[str, Any], conditions: Sequence[Any]) -> tuple[str, str] | None:
    if signal.get("action") != strategy.entry_action:
        return f"action {strategy.entry_action} ({strategy.side})", f"action {signal.get('action')!r}"
    price = signal.get("price", 0.0)
    size = strategy.quantity if strategy.quantity is not None else strategy.notional / price
    if not close(signal.get("quantity"), size):
        return f"quantity {size} ({'quantity' if strategy.quantity is not None else 'notional / price'})", \
            f"quantity {signal.get('quantity')!r}"
    values = {**(signal.get("indicator_values") or {}), "price": price}
    failing = [c.describe() for c in conditions if not _holds(c, values)]
    if failing:
        return "every condition holds on the reported values", f"not holding: {', '.join(failing)}"
    return None


def _exit_checks(strategy: Any, track: _Track, signal: Mapping[str, Any]) -> tuple[str, str] | None:
    meta = signal.get("metadata") or {}
    if signal.get("action") != "CLOSE":
        return "action CLOSE", f"action {signal.get('action')!r}"
    if not close(meta.get("entry_price"), track.entry_price):
        return f"entry_price {track.entry_price} (the Z1 price)", f"entry_price {meta.get('entry_price')!r}"
    move = (signal.get("price", 0.0) / track.entry_price - 1.0) * 100.0 if track.entry_price else 0.0
    pnl_pct = move if strategy.side == "LONG" else -move
    reason = meta.get("reason")
    if reason == "stop_loss" and not pnl_pct <= -strategy.stop_loss_pct * (1 - 1e-9):
        return f"stop_loss exit only at pnl_pct <= -{strategy.stop_loss_pct}", f"pnl_pct {pnl_pct}"
    if reason == "take_profit" and not pnl_pct >= strategy.take_profit_pct * (1 - 1e-9):
        return f"take_profit exit only at pnl_pct >= {strategy.take_profit_pct}", f"pnl_pct {pnl_pct}"
    return None


def _holds(condition: Any, values: Mapping[str, float]) -> bool:
    observed = values.get(condition.indicator)
    bound = values.get(condition.value) if isinstance(condition.value, str) else condition.value
    return observed is not None and bound is not None and _OPS[condition.op](observed, bound)
