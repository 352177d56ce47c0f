"""Idle timers: how fast virtual time goes when every task mostly sleeps.

    python bench/kernel_timers.py [--tasks 100] [--day]

``--tasks`` tasks each sleep 1 s in a loop for one simulated hour (and, with ``--day``, one
simulated day), under the asyncio kernel (fifo and random; lean, default = lean trace with
detectors, traced = ``trace=True``), looptime (a patched
asyncio loop that fakes time) and trio's ``MockClock(autojump_threshold=0)``, in this one
process.  Printed: timer wake-ups per wall second and virtual seconds per wall second, and
the ratio to looptime (target for the defaults: >= 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import looptime
import trio
import trio.testing

import sim


def asyncio_sleepers(tasks: int, seconds: int) -> Callable[[], object]:
    async def main() -> None:
        async def sleeper() -> None:
            for _ in range(seconds):
                await asyncio.sleep(1)

        await asyncio.gather(*(sleeper() for _ in range(tasks)))

    return main


def trio_sleepers(tasks: int, seconds: int) -> Callable[[], object]:
    async def main() -> None:
        async def sleeper() -> None:
            for _ in range(seconds):
                await trio.sleep(1)

        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(sleeper)

    return main


def timed(once: Callable[[], None]) -> float:
    started = time.perf_counter()
    once()
    return time.perf_counter() - started


def run_looptime(main: Callable[[], object]) -> None:
    loop = looptime.new_event_loop(start=0, noop_cycles=0)
    try:
        loop.run_until_complete(main())  # type: ignore[arg-type]
    finally:
        loop.close()


def measure(tasks: int, seconds: int) -> None:
    wakeups = tasks * seconds
    main = asyncio_sleepers(tasks, seconds)
    rows = [
        ("kernel fifo (lean)", timed(lambda: sim.run(main, trace=False, detectors=False).raise_for_error())),
        ("kernel fifo (default)", timed(lambda: sim.run(main).raise_for_error())),
        ("kernel fifo (traced)", timed(lambda: sim.run(main, trace=True).raise_for_error())),
        ("kernel random (default)", timed(lambda: sim.run(main, policy="random").raise_for_error())),
        ("kernel random (lean)", timed(lambda: sim.run(main, policy="random", trace=False,
                                                       detectors=False).raise_for_error())),
        ("looptime", timed(lambda: run_looptime(main))),
        ("trio MockClock", timed(lambda: trio.run(trio_sleepers(tasks, seconds),
                                                  clock=trio.testing.MockClock(autojump_threshold=0)))),
    ]
    reference = dict(rows)["looptime"]
    print(f"\n{tasks} tasks x {seconds} virtual seconds ({wakeups} wake-ups)")
    print(f"{'runner':<24} {'wall s':>8} {'wake-ups/s':>12} {'virtual s/s':>12} {'vs looptime':>12}")
    for name, wall in rows:
        print(f"{name:<24} {wall:8.2f} {wakeups / wall:12.0f} {seconds / wall:12.0f} {reference / wall:11.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--day", action="store_true", help="also run one simulated day (minutes of wall time)")
    args = parser.parse_args()
    measure(args.tasks, 3600)
    if args.day:
        measure(args.tasks, 86400)


if __name__ == "__main__":
    main()
