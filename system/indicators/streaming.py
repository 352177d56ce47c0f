"""O(1) incremental indicators: each ``update`` costs constant (amortised) time.

Every indicator takes ``update(timestamp, price, volume)`` and returns its value, or
``None`` while it is warming up.  Warm-up rules (an indicator is left out of
``indicator.updated``'s ``values`` until it is warm, so a strategy never acts on a number
computed from too little data):

- ``ema`` (period n): warm at the n-th update; seeded with the simple mean of the first n
  prices, then ``ema += alpha * (price - ema)`` with ``alpha = 2 / (n + 1)``.
- ``rsi`` (period n, Wilder): warm at the (n+1)-th update (n price changes); the first
  averages are simple means of n gains/losses, then Wilder's smoothing
  ``avg = (avg * (n - 1) + x) / n``.  All losses zero: 100 (50 if gains are zero too).
- ``vwap`` (window W s): warm at once; sum(price*volume)/sum(volume) over the ticks in
  ``(t - W, t]``; the last price while that window holds no volume.
- ``twap`` (window W s): warm at once; each price holds from its tick to the next, and the
  value is the time-average over ``[max(first tick, t - W), t]``; the price itself while that
  span has zero length.
- ``velocity`` (window W s): % change per second between the price now and the reference
  price: the latest tick at or before ``t - W``; warm once such a tick exists.
- ``volume_surge`` (windows Ws < Wl s): volume per second in ``(t - Ws, t]`` divided by
  volume per second in ``(t - Wl, t]``; warm once ``Wl`` seconds have passed since the first
  tick; 0 while the long window holds no volume.

Rolling sums add and subtract, so they drift by float rounding; a window whose entries are
all zero is reset to exactly 0 so the drift cannot show as a spurious non-zero ratio.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from system.indicators.spec import IndicatorSpec


class Indicator(Protocol):
    def update(self, timestamp: float, price: float, volume: float) -> float | None: ...


class Ema:
    __slots__ = ("_alpha", "_count", "_period", "_seed_sum", "_value")

    def __init__(self, period: int) -> None:
        self._period = period
        self._alpha = 2.0 / (period + 1)
        self._count = 0
        self._seed_sum = 0.0
        self._value = 0.0

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        if self._count < self._period:
            self._count += 1
            self._seed_sum += price
            if self._count < self._period:
                return None
            self._value = self._seed_sum / self._period
            return self._value
        self._value += self._alpha * (price - self._value)
        return self._value


class WilderRsi:
    __slots__ = ("_avg_gain", "_avg_loss", "_changes", "_period", "_previous")

    def __init__(self, period: int) -> None:
        self._period = period
        self._previous: float | None = None
        self._changes = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        previous = self._previous
        self._previous = price
        if previous is None:
            return None
        change = price - previous
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        period = self._period
        if self._changes < period:
            # Seed phase: accumulate sums, turned into simple means at the n-th change.
            self._changes += 1
            self._avg_gain += gain
            self._avg_loss += loss
            if self._changes < period:
                return None
            self._avg_gain /= period
            self._avg_loss /= period
        else:
            self._avg_gain = (self._avg_gain * (period - 1) + gain) / period
            self._avg_loss = (self._avg_loss * (period - 1) + loss) / period
        return rsi_from_averages(self._avg_gain, self._avg_loss)


def rsi_from_averages(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


class RollingSum:
    """Sum of the values added in the last ``window`` seconds: ``(t - window, t]``."""

    __slots__ = ("_entries", "_nonzero", "_window", "total")

    def __init__(self, window: float) -> None:
        self._window = window
        self._entries: deque[tuple[float, float]] = deque()
        self._nonzero = 0
        self.total = 0.0

    def add(self, timestamp: float, value: float) -> None:
        entries = self._entries
        entries.append((timestamp, value))
        total = self.total + value
        nonzero = self._nonzero + (value != 0.0)
        horizon = timestamp - self._window
        while entries[0][0] <= horizon:
            old = entries.popleft()[1]
            if old != 0.0:
                nonzero -= 1
                total -= old
        self._nonzero = nonzero
        self.total = total if nonzero else 0.0


class RollingVwap:
    """Rolling sums of price x volume and of volume over one deque of ticks."""

    __slots__ = ("_entries", "_notional", "_traded", "_volume", "_window")

    def __init__(self, window: float) -> None:
        self._window = window
        self._entries: deque[tuple[float, float, float]] = deque()
        self._traded = 0  # ticks in the window with volume > 0
        self._notional = 0.0
        self._volume = 0.0

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        entries = self._entries
        notional = price * volume
        entries.append((timestamp, notional, volume))
        total_notional = self._notional + notional
        total_volume = self._volume + volume
        traded = self._traded + (volume != 0.0)
        horizon = timestamp - self._window
        while entries[0][0] <= horizon:
            _, old_notional, old_volume = entries.popleft()
            if old_volume != 0.0:
                traded -= 1
                total_notional -= old_notional
                total_volume -= old_volume
        self._traded = traded
        if not traded:
            self._notional = self._volume = 0.0
            return price
        self._notional = total_notional
        self._volume = total_volume
        return total_notional / total_volume


class Twap:
    """Segments ``(start, end, price)`` between consecutive ticks, their area summed.

    The oldest segment may straddle the window's start; it stays whole in the sum and the
    part before the window is subtracted when the value is read.
    """

    __slots__ = ("_area", "_last_price", "_last_time", "_segments", "_window")

    def __init__(self, window: float) -> None:
        self._window = window
        self._segments: deque[tuple[float, float, float]] = deque()
        self._area = 0.0
        self._last_time: float | None = None
        self._last_price = 0.0

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        segments = self._segments
        if self._last_time is not None:
            segments.append((self._last_time, timestamp, self._last_price))
            self._area += self._last_price * (timestamp - self._last_time)
        self._last_time = timestamp
        self._last_price = price
        window_start = timestamp - self._window
        while segments and segments[0][1] <= window_start:
            start, end, old_price = segments.popleft()
            self._area -= old_price * (end - start)
        if not segments:  # the first tick: no time has passed yet
            return price
        head_start, _, head_price = segments[0]
        start = max(head_start, window_start)
        duration = timestamp - start
        if duration <= 0.0:
            return price
        return (self._area - head_price * (start - head_start)) / duration


class PriceVelocity:
    __slots__ = ("_ticks", "_window")

    def __init__(self, window: float) -> None:
        self._window = window
        self._ticks: deque[tuple[float, float]] = deque()

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        ticks = self._ticks
        ticks.append((timestamp, price))
        horizon = timestamp - self._window
        while len(ticks) > 1 and ticks[1][0] <= horizon:
            ticks.popleft()
        reference_time, reference_price = ticks[0]
        if reference_time > horizon:
            return None
        return (price / reference_price - 1.0) * 100.0 / (timestamp - reference_time)


class VolumeSurge:
    __slots__ = ("_first_time", "_long", "_long_window", "_short", "_short_window")

    def __init__(self, window: float, long_window: float) -> None:
        self._short_window = window
        self._long_window = long_window
        self._short = RollingSum(window)
        self._long = RollingSum(long_window)
        self._first_time: float | None = None

    def update(self, timestamp: float, price: float, volume: float) -> float | None:
        if self._first_time is None:
            self._first_time = timestamp
        self._short.add(timestamp, volume)
        self._long.add(timestamp, volume)
        if timestamp - self._first_time < self._long_window:
            return None
        long_total = self._long.total
        if long_total <= 0.0:
            return 0.0
        return (self._short.total * self._long_window) / (self._short_window * long_total)


def make_indicator(spec: IndicatorSpec) -> Indicator:
    """A fresh indicator for one symbol."""
    match spec.kind:
        case "ema":
            return Ema(spec.period)
        case "rsi":
            return WilderRsi(spec.period)
        case "vwap":
            return RollingVwap(spec.window)
        case "twap":
            return Twap(spec.window)
        case "velocity":
            return PriceVelocity(spec.window)
        case "volume_surge":
            return VolumeSurge(spec.window, spec.long_window)
    raise AssertionError(f"IndicatorSpec validation let through kind {spec.kind!r}")
