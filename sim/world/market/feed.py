"""SimulatedMarketFeed: the paper-mode MarketFeed, replaying ticks at their own (virtual) time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

import anyio.lowlevel

from sim.world.ports import VirtualClock
from system.ports import Tick


class SimulatedMarketFeed:
    """Implements ``system.ports.MarketFeed`` over a fixed list of ticks.

    ``stream(symbols)`` yields the ticks of those symbols in timestamp order, each when the
    clock reaches its timestamp, like a live push stream.  A tick whose time has already
    passed when the consumer asks for it (a late subscriber, or a slow consumer) is yielded
    at once rather than dropped, so every tick reaches the session exactly once whatever the
    fault plan delays; the feed stream-drop faults of the live issue will drop ticks on
    purpose.  Every tick is an await point, even one that is due at once.
    """

    def __init__(self, ticks: Iterable[Tick], clock: VirtualClock) -> None:
        self._ticks = sorted(ticks, key=lambda tick: tick.timestamp)
        self._clock = clock

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        wanted = set(symbols)
        unknown = wanted - {tick.symbol for tick in self._ticks}
        if unknown:
            raise ValueError(f"SimulatedMarketFeed has no ticks for {sorted(unknown)}")
        for tick in self._ticks:
            if tick.symbol not in wanted:
                continue
            delay = self._clock.to_virtual(tick.timestamp) - self._clock.monotonic()
            if delay > 0:
                await self._clock.sleep(delay)
            else:
                await anyio.lowlevel.checkpoint()
            yield tick
