"""A target that is not deterministic within one process: each run sleeps longer."""

from __future__ import annotations

import itertools

import anyio

_runs = itertools.count(1)


async def drifting() -> None:
    await anyio.sleep(next(_runs))
