"""Test targets whose outputs differ between runs of one seed while the schedule stays the same.

``LEAKY``: state kept across runs in a module global (a cache, a class counter), so the second
run in one process writes other rows than the first.  ``HASH_ORDERED``: rows written in the
iteration order of a set of strings, which follows ``PYTHONHASHSEED`` (the subprocess run).
"""

from __future__ import annotations

import itertools
from typing import Any

from examples.tally.target import TallySystem, TallyTarget
from sim.harness.targets import Ports

_RUNS = itertools.count()


class _Leaky:
    """A Random port whose draws depend on how many runs this process made before."""

    def __init__(self, random: Any) -> None:
        self._random, self._offset = random, next(_RUNS)

    def uniform(self, low: float, high: float) -> float:
        return low + (self._random.uniform(low, high) - low + self._offset) % (high - low)


class LeakyTarget(TallyTarget):
    name = "leaky-tally"

    async def build(self, ports: Ports) -> TallySystem:
        ports.random = _Leaky(ports.random)
        return await super().build(ports)


class _HashOrderedIds:
    """Ids numbered in the iteration order of a set of strings (as code that walks a set does)."""

    def __init__(self) -> None:
        self._names = list({f"meter-{i}" for i in range(16)})
        self._count = 0

    def new_id(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}-{self._names[self._count % len(self._names)]}-{self._count}"


class HashOrderedTarget(TallyTarget):
    name = "hash-ordered-tally"

    async def build(self, ports: Ports) -> TallySystem:
        ports.ids = _HashOrderedIds()
        return await super().build(ports)


LEAKY = LeakyTarget()
HASH_ORDERED = HashOrderedTarget()
