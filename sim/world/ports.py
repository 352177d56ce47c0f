"""Simulated implementations of the system's Clock, Ids and Random ports.

They are kernel-agnostic: the clock reads ``anyio.current_time()``, which is the virtual
``loop.time()`` under the asyncio kernel and ``MockClock`` time under the trio kernel.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import anyio

from system.adapters.random import StdRandom

DEFAULT_EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
"""Virtual time 0 maps to this instant unless a scenario says otherwise (a Monday, 00:00 UTC)."""


class VirtualClock:
    """The system's Clock under simulation: ``now() = epoch + virtual seconds``."""

    def __init__(self, epoch: datetime = DEFAULT_EPOCH) -> None:
        if epoch.tzinfo is None:
            raise ValueError(f"VirtualClock epoch must be timezone-aware, got naive {epoch!r}")
        self.epoch = epoch.astimezone(UTC)

    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=anyio.current_time())

    def monotonic(self) -> float:
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def to_virtual(self, instant: datetime) -> float:
        """Virtual seconds at which ``instant`` happens."""
        return (instant - self.epoch).total_seconds()


class SeededIds:
    """Deterministic ids: ``prefix_000001``, one counter per prefix."""

    def __init__(self, namespace: str = "") -> None:
        self._namespace = namespace
        self._counters: defaultdict[str, int] = defaultdict(int)

    def new_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}_{self._namespace}{self._counters[prefix]:06d}"


class SeededRandom(StdRandom):
    """The production Random port, but always seeded: a simulation never draws OS entropy."""

    def __init__(self, seed: int | str) -> None:
        if seed is None:
            raise ValueError("a simulated Random port needs a seed")
        super().__init__(seed)
