"""Seeded market-data generators: a few named regimes that give a strategy something to do.

Every symbol's path is a geometric random walk plus scripted *episodes* (a pump, a dump, a
burst of volatility, a missing stretch) drawn from that symbol's own ``random.Random``,
seeded by ``(seed, symbol)``: adding a symbol never changes another symbol's data.

Regimes (``REGIMES``):

* ``walk`` — the random walk alone.
* ``flat`` — constant price, constant small volume (indicators must cope with zero variance).
* ``pump-and-dump`` — once per hour, starting 10-30 minutes in: +5..10 % over 10-20 minutes
  on 3-6x volume, then a fall to 2-5 % *below* the start over 5-15 minutes on 4-8x volume.
* ``dump`` — once per hour: -5..10 % over 5-10 minutes on 4-8x volume, then a slow partial
  recovery.
* ``gap`` — once per hour a 5-15 minute stretch with no ticks at all (a feed outage).
* ``burst`` — every 15-25 minutes, 1-3 minutes of 5x volatility on 5x volume.

``DEFAULT_REGIMES`` gives BTC_USDT bursts, ETH_USDT a pump-and-dump and SOL_USDT a dump, so a
one-hour run already contains a pump, a dump and volume surges; other symbols walk.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from heapq import merge

from system.ports import Tick

SIGMA_PER_SQRT_SECOND = 0.0002
"""Per-tick log-return volatility at a 1 s tick (about 1.2 % per hour); scales with sqrt(tick)."""

START_PRICES: Mapping[str, float] = {"BTC_USDT": 60_000.0, "ETH_USDT": 3_000.0, "SOL_USDT": 150.0}
BASE_VOLUMES: Mapping[str, float] = {"BTC_USDT": 0.5, "ETH_USDT": 5.0, "SOL_USDT": 50.0}
DEFAULT_REGIMES: Mapping[str, str] = {"BTC_USDT": "burst", "ETH_USDT": "pump-and-dump", "SOL_USDT": "dump"}


@dataclass(frozen=True, slots=True)
class Step:
    """What a regime asks of one tick: a scripted log move on top of the walk, scales for the
    walk's volatility and the volume, and whether the tick exists at all."""

    drift: float = 0.0
    sigma: float = 1.0
    volume: float = 1.0
    present: bool = True


QUIET = Step()
Script = Callable[[random.Random, float], list[Step]]
"""An episode: given the symbol's rng and the tick length (s), the steps it occupies."""


def _ticks(seconds: float, tick_seconds: float) -> int:
    return max(1, round(seconds / tick_seconds))


def _ramp(rng: random.Random, dt: float, change: float, minutes: tuple[float, float],
          volume: tuple[float, float], sigma: float = 1.0) -> list[Step]:
    """Move the price by ``change`` (fraction) evenly over a random number of minutes."""
    count = _ticks(rng.uniform(*minutes) * 60, dt)
    drift = math.log1p(change) / count
    scale = rng.uniform(*volume)
    return [Step(drift, sigma, scale)] * count


def _pump_and_dump(rng: random.Random, dt: float) -> list[Step]:
    pump = rng.uniform(0.05, 0.10)
    below = rng.uniform(0.02, 0.05)
    up = _ramp(rng, dt, pump, (10, 20), (3, 6), sigma=1.5)
    down = _ramp(rng, dt, (1 - below) / (1 + pump) - 1, (5, 15), (4, 8), sigma=2.0)
    return up + down


def _dump(rng: random.Random, dt: float) -> list[Step]:
    drop = rng.uniform(0.05, 0.10)
    down = _ramp(rng, dt, -drop, (5, 10), (4, 8), sigma=2.0)
    recovery = _ramp(rng, dt, drop / 2, (20, 30), (1.2, 1.8))
    return down + recovery


def _gap(rng: random.Random, dt: float) -> list[Step]:
    return [Step(present=False)] * _ticks(rng.uniform(5, 15) * 60, dt)


def _burst(rng: random.Random, dt: float) -> list[Step]:
    return [Step(sigma=5.0, volume=5.0)] * _ticks(rng.uniform(1, 3) * 60, dt)


def _flat_steps(rng: random.Random, count: int, dt: float) -> Iterator[Step]:
    return iter([Step(sigma=0.0)] * count)


def _episodic(script: Script, period: tuple[float, float], first: tuple[float, float]
              ) -> Callable[[random.Random, int, float], Iterator[Step]]:
    """A regime that runs ``script`` repeatedly: the first episode starts ``first`` minutes
    in, each later one ``period`` minutes after the previous start (ranges drawn per episode)."""

    def steps(rng: random.Random, count: int, dt: float) -> Iterator[Step]:
        emitted = 0
        start = _ticks(rng.uniform(*first) * 60, dt)
        while emitted < count:
            while emitted < min(start, count):
                yield QUIET
                emitted += 1
            episode = script(rng, dt)
            for step in episode[: count - emitted]:
                yield step
                emitted += 1
            start += max(_ticks(rng.uniform(*period) * 60, dt), len(episode) + 1)

    return steps


def _walk_steps(rng: random.Random, count: int, dt: float) -> Iterator[Step]:
    return iter([QUIET] * count)


REGIMES: Mapping[str, Callable[[random.Random, int, float], Iterator[Step]]] = {
    "walk": _walk_steps,
    "flat": _flat_steps,
    "pump-and-dump": _episodic(_pump_and_dump, period=(60, 60), first=(10, 30)),
    "dump": _episodic(_dump, period=(60, 60), first=(10, 30)),
    "gap": _episodic(_gap, period=(60, 60), first=(10, 30)),
    "burst": _episodic(_burst, period=(15, 25), first=(5, 15)),
}


def generate(symbols: Sequence[str], *, start: datetime, hours: float, tick_seconds: float = 1.0, seed: int,
             regimes: Mapping[str, str] | None = None) -> list[Tick]:
    """All ticks of ``symbols`` for ``hours`` from ``start``, in (timestamp, symbol order) order."""
    return list(iter_ticks(symbols, start=start, hours=hours, tick_seconds=tick_seconds, seed=seed,
                           regimes=regimes))


def iter_ticks(symbols: Sequence[str], *, start: datetime, hours: float, tick_seconds: float = 1.0, seed: int,
               regimes: Mapping[str, str] | None = None) -> Iterator[Tick]:
    """Like :func:`generate`, lazily.  ``regimes`` maps symbols to regime names; a symbol not
    in it uses ``DEFAULT_REGIMES`` or else ``walk``."""
    if start.tzinfo is None or start.utcoffset() != timedelta(0):
        raise ValueError(f"generate: start must be timezone-aware UTC, got {start!r}")
    if tick_seconds <= 0 or hours < 0:
        raise ValueError(f"generate: need tick_seconds > 0 and hours >= 0, got {tick_seconds}, {hours}")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"generate: duplicate symbols in {list(symbols)}")
    chosen = {**DEFAULT_REGIMES, **(regimes or {})}
    unknown = {symbol: chosen[symbol] for symbol in symbols if chosen.get(symbol, "walk") not in REGIMES}
    if unknown:
        raise ValueError(f"generate: unknown regime(s) {unknown}; regimes: {', '.join(REGIMES)}")
    count = int(hours * 3600 / tick_seconds + 1e-9)  # 0.7 h at 1 s is 2520 ticks, not 2519
    times = [start + timedelta(seconds=index * tick_seconds) for index in range(count)]
    paths = [_path(symbol, chosen.get(symbol, "walk"), times, tick_seconds, seed) for symbol in symbols]
    order = {symbol: at for at, symbol in enumerate(symbols)}
    return merge(*paths, key=lambda tick: (tick.timestamp, order[tick.symbol]))


def _path(symbol: str, regime: str, times: list[datetime], dt: float, seed: int) -> Iterator[Tick]:
    rng = random.Random(f"simwire-market:{seed}:{symbol}")
    price0 = START_PRICES.get(symbol, 100.0)
    base_volume = BASE_VOLUMES.get(symbol, 10.0)
    sigma = SIGMA_PER_SQRT_SECOND * math.sqrt(dt)
    noisy_volume = regime != "flat"
    log_price = 0.0
    for timestamp, step in zip(times, REGIMES[regime](rng, len(times), dt), strict=True):
        log_price += step.drift + (rng.gauss(0.0, sigma * step.sigma) if step.sigma else 0.0)
        if not step.present:
            continue
        price = price0 * math.exp(log_price)
        volume = base_volume * step.volume * (rng.lognormvariate(0.0, 0.5) if noisy_volume else 1.0)
        yield Tick(symbol, timestamp, price, volume, price * volume)
