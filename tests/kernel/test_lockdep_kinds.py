"""lockdep sees every lock kind on both kernels: trio's Lock, Semaphore and Condition,
asyncio's Semaphore, anyio's locks and semaphores on trio."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import trio

import sim


def abba(make_first: Callable[[], Any], make_second: Callable[[], Any]) -> Callable[[], Any]:
    """Two tasks take the two locks in opposite orders, never yielding while holding one."""

    async def main() -> None:
        first = make_first()
        second = make_second()

        async def forward() -> None:
            async with first, second:
                pass

        async def backward() -> None:
            async with second, first:
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(forward)
            tg.start_soon(backward)

    return main


CASES = {
    "trio.Lock": ("trio", trio.Lock, trio.Lock),
    "trio.Semaphore": ("trio", lambda: trio.Semaphore(1), trio.Lock),
    "trio.Condition": ("trio", trio.Condition, trio.Lock),
    "trio.StrictFIFOLock": ("trio", trio.StrictFIFOLock, trio.Lock),
    "anyio.Lock on trio": ("trio", anyio.Lock, anyio.Lock),
    "anyio.Semaphore on trio": ("trio", lambda: anyio.Semaphore(1), anyio.Lock),
    "anyio.Condition on trio": ("trio", anyio.Condition, anyio.Lock),
    "asyncio.Semaphore": ("asyncio", lambda: asyncio.Semaphore(1), asyncio.Lock),
    "asyncio.Condition": ("asyncio", asyncio.Condition, asyncio.Lock),
    "anyio.Semaphore on asyncio": ("asyncio", lambda: anyio.Semaphore(1), anyio.Lock),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_inverted_order_is_reported(case):
    kernel, make_first, make_second = CASES[case]
    result = sim.run(abba(make_first, make_second), kernel=kernel)
    # trio's acquire always checkpoints, so under fifo the two tasks may really deadlock;
    # either way the inverted order itself is reported
    [violation] = [v for v in result.violations if v.rule == "kernel.lock-order"]
    assert violation.message.count("tests/kernel/test_lockdep_kinds.py:") == 3  # A -> B -> A, both named


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_one_order_is_clean_and_semaphore_permits_are_tracked_per_task(kernel):
    async def main() -> None:
        pool = anyio.Semaphore(2)
        lock = anyio.Lock()

        async def worker() -> None:
            async with pool:
                await anyio.lowlevel.checkpoint()
                async with lock:
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(worker)

    for seed in range(5):
        result = sim.run(main, kernel=kernel, policy="random", seed=seed)
        assert result.ok, result.render()
