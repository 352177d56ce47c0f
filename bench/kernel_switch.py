"""Task-switch cost: the asyncio kernel (fifo, random, pct) against the stock asyncio loop.

    python bench/kernel_switch.py [--tasks 1000] [--rounds 50] [--repeat 3]

``--tasks`` tasks in pairs ping-pong a token through two asyncio.Queues, ``--rounds`` times
per pair, so nearly every step is a task switch.  Each configuration runs ``--repeat``
times in this process and the best wall time counts; the figure is the ratio to the stock
loop (target: ``sim.run`` defaults <= 1.3x).  The kernel runs with its defaults (no
per-step trace, recovered on demand; detectors on), traced (``trace=True``: await sites
captured every step) and lean (``trace=False, detectors=False``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import sim


def ping_pong(tasks: int, rounds: int) -> Callable[[], object]:
    async def main() -> int:
        async def ping(out: asyncio.Queue[int], back: asyncio.Queue[int]) -> None:
            for token in range(rounds):
                await out.put(token)
                await back.get()

        async def pong(inbox: asyncio.Queue[int], back: asyncio.Queue[int]) -> None:
            for _ in range(rounds):
                await back.put(await inbox.get())

        workers = []
        for _ in range(tasks // 2):
            there, back = asyncio.Queue(), asyncio.Queue()
            workers += [asyncio.ensure_future(ping(there, back)), asyncio.ensure_future(pong(there, back))]
        await asyncio.gather(*workers)
        return tasks * rounds

    return main


def best_of(repeat: int, once: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    program = ping_pong(args.tasks, args.rounds)
    switches = args.tasks * args.rounds
    stock = best_of(args.repeat, lambda: asyncio.run(program()))
    print(f"task-switch: {args.tasks} tasks x {args.rounds} rounds ({switches} messages), best of {args.repeat}")
    print(f"{'configuration':<34} {'wall s':>8} {'msgs/s':>10} {'vs stock':>9}")
    print(f"{'stock asyncio':<34} {stock:8.3f} {switches / stock:10.0f} {1.0:8.2f}x")
    for policy in ("fifo", "random", "shuffle", "pct"):
        for label, options in (("default", {}), ("traced", {"trace": True}),
                               ("lean", {"trace": False, "detectors": False})):
            def once(policy: str = policy, options: dict[str, bool] = options) -> None:
                sim.run(program, policy=policy, seed=1, **options).raise_for_error()

            wall = best_of(args.repeat, once)
            name = f"kernel {policy} ({label})"
            print(f"{name:<34} {wall:8.3f} {switches / wall:10.0f} {wall / stock:8.2f}x")


if __name__ == "__main__":
    main()
