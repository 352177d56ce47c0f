"""StdRandom: the Random port on a private ``random.Random`` (never the module-level one)."""

from __future__ import annotations

import random as _random


class StdRandom:
    """Seed it to reproduce a production run's slippage noise; unseeded it uses OS entropy.

    A ``str`` seed is hashed with SHA-512 by ``random.Random``, independent of PYTHONHASHSEED.
    """

    def __init__(self, seed: int | str | None = None) -> None:
        self._rng = _random.Random(seed)

    def random(self) -> float:
        return self._rng.random()

    def uniform(self, a: float, b: float) -> float:
        return self._rng.uniform(a, b)

    def gauss(self, mu: float, sigma: float) -> float:
        return self._rng.gauss(mu, sigma)
