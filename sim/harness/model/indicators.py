"""Indicators recomputed the slow, obvious way from the recorded ticks of one symbol.

The definitions are the documented ones (``system/indicators/streaming.py``'s docstring);
the code is deliberately not the system's: no rolling sums, no deques, no incremental
state.  Time windows are re-summed from the tick list at the moment asked for; the two
count-based indicators (EMA and Wilder's RSI) are recursive by definition, so they are
computed as one plain series per symbol and looked up.

``Ticks`` is one symbol's ticks in publish order: parallel lists of event times, prices and
volumes, as the indicator engine received them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.harness.model.findings import close


@dataclass
class Ticks:
    times: list[float] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)
    volumes: list[float] = field(default_factory=list)

    def append(self, timestamp: float, price: float, volume: float) -> None:
        self.times.append(timestamp)
        self.prices.append(price)
        self.volumes.append(volume)

    def index_at(self, timestamp: float) -> int:
        """The last tick at or before ``timestamp`` (-1 if none): the market price then."""
        return bisect_right(self.times, timestamp) - 1


def ema_series(prices: list[float], period: int) -> list[float | None]:
    """None until the ``period``-th price; then the mean of the first ``period`` prices, then
    ``ema + 2 / (period + 1) * (price - ema)`` per price."""
    series: list[float | None] = []
    ema = 0.0
    for count, price in enumerate(prices, start=1):
        if count < period:
            series.append(None)
            continue
        seeded = count == period
        ema = sum(prices[:period]) / period if seeded else ema + 2.0 / (period + 1) * (price - ema)
        series.append(ema)
    return series


def rsi_series(prices: list[float], period: int) -> list[float | None]:
    """Wilder's RSI: None until ``period`` price changes exist; the first averages are plain
    means of the first ``period`` gains and losses, then ``(avg * (period - 1) + x) / period``."""
    series: list[float | None] = [None] * len(prices)
    gains: list[float] = []
    losses: list[float] = []
    avg_gain = avg_loss = 0.0
    for i in range(1, len(prices)):
        change = prices[i] - prices[i - 1]
        gain, loss = (change, 0.0) if change > 0 else (0.0, -change)
        gains.append(gain)
        losses.append(loss)
        if len(gains) < period:
            continue
        if len(gains) == period:
            avg_gain, avg_loss = sum(gains) / period, sum(losses) / period
        else:
            avg_gain = (avg_gain * (period - 1) + gain) / period
            avg_loss = (avg_loss * (period - 1) + loss) / period
        if avg_loss == 0.0:
            series[i] = 100.0 if avg_gain > 0.0 else 50.0
        else:
            series[i] = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return series


def vwap(ticks: Ticks, i: int, window: float) -> float:
    """sum(price x volume) / sum(volume) over the ticks in ``(t - window, t]``; the price
    itself while that window traded nothing."""
    t = ticks.times[i]
    first = bisect_right(ticks.times, t - window, 0, i + 1)
    volume = sum(ticks.volumes[first:i + 1])
    if not any(ticks.volumes[first:i + 1]):
        return ticks.prices[i]
    return sum(p * v for p, v in zip(ticks.prices[first:i + 1], ticks.volumes[first:i + 1], strict=True)) / volume


def twap(ticks: Ticks, i: int, window: float) -> float:
    """Each price holds from its tick to the next; the time-average over
    ``[max(first tick, t - window), t]``, the price itself while that span is empty."""
    t = ticks.times[i]
    start = max(ticks.times[0], t - window)
    if t - start <= 0.0:
        return ticks.prices[i]
    area = 0.0
    for k in range(max(1, bisect_right(ticks.times, start, 0, i + 1)), i + 1):  # segments ending after start
        begin, end = max(ticks.times[k - 1], start), ticks.times[k]
        if end > begin:
            area += ticks.prices[k - 1] * (end - begin)
    return area / (t - start)


def velocity(ticks: Ticks, i: int, window: float) -> float | None:
    """% change per second from the reference (the latest tick at or before ``t - window``)."""
    t = ticks.times[i]
    ref = bisect_right(ticks.times, t - window, 0, i + 1) - 1
    if ref < 0:
        return None
    return (ticks.prices[i] / ticks.prices[ref] - 1.0) * 100.0 / (t - ticks.times[ref])


def volume_surge(ticks: Ticks, i: int, window: float, long_window: float) -> float | None:
    """Volume per second over ``(t - window, t]`` divided by volume per second over
    ``(t - long_window, t]``; None until ``long_window`` seconds after the first tick."""
    t = ticks.times[i]
    if t - ticks.times[0] < long_window:
        return None
    short = sum(ticks.volumes[bisect_right(ticks.times, t - window, 0, i + 1):i + 1])
    long = sum(ticks.volumes[bisect_right(ticks.times, t - long_window, 0, i + 1):i + 1])
    if long <= 0.0:
        return 0.0
    return (short / window) / (long / long_window)


class SymbolModel:
    """The expected ``values`` of ``indicator.updated`` at any tick of one symbol."""

    def __init__(self, ticks: Ticks, specs: Iterable[Any]) -> None:
        self.ticks = ticks
        self.specs = tuple(specs)
        self._series: dict[str, list[float | None]] = {}

    def values_at(self, i: int) -> dict[str, float]:
        values: dict[str, float] = {}
        for spec in self.specs:
            value = self._value(spec, i)
            if value is not None:
                values[spec.name] = value
        return values

    def _value(self, spec: Any, i: int) -> float | None:
        if spec.kind in ("ema", "rsi"):
            if spec.name not in self._series:
                compute = ema_series if spec.kind == "ema" else rsi_series
                self._series[spec.name] = compute(self.ticks.prices, spec.period)
            return self._series[spec.name][i]
        if spec.kind == "vwap":
            return vwap(self.ticks, i, spec.window)
        if spec.kind == "twap":
            return twap(self.ticks, i, spec.window)
        if spec.kind == "velocity":
            return velocity(self.ticks, i, spec.window)
        if spec.kind == "volume_surge":
            return volume_surge(self.ticks, i, spec.window, spec.long_window)
        raise ValueError(f"the reference model has no definition of indicator kind {spec.kind!r} ({spec.name})")


def differences(expected: Mapping[str, float], seen: Mapping[str, Any], rel: float) -> list[str]:
    """``name: seen X, model Y`` for every indicator that differs or is missing on one side."""
    found = []
    for name in sorted(set(expected) | set(seen)):
        if name not in seen:
            found.append(f"{name}: absent, model {expected[name]!r}")
        elif name not in expected:
            found.append(f"{name}: {seen[name]!r}, model: still warming up")
        elif not close(seen[name], expected[name], rel=rel):
            found.append(f"{name}: {seen[name]!r}, model {expected[name]!r}")
    return found
