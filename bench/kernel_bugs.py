"""Bug finding: seeds needed to expose each known-bug program, per policy and kernel.

    python bench/kernel_bugs.py [--trials 50] [--cap 200] [--frontrun --frontrun-trials 50]

The table is :func:`bench.kernel_detection.kernel_section`: for each program of
``tests/kernel/programs.py`` whose bug needs a reordering (lost update, a task held back
three steps, check-then-act across two awaits, publish before a late subscribe, timer tie,
ABBA deadlock, starvation), on both kernels, the median number of seeds over ``--trials``
trials for ``random`` (the walk), ``shuffle`` (the per-batch shuffle) and ``pct``.
With ``--frontrun``, frontrun's async random explorer runs three of the program bodies (its
tasks get the shared state as an argument) with ``seed=t``; its figure is the interleavings
it explored until the first counterexample.  The lock-order and unawaited/leaked programs
are not here: the kernel's detectors report those on the first run, whatever the schedule.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_detection import kernel_section

CAP = 2000
"""Seeds tried per trial before giving up (a trial that gives up counts as CAP)."""

FRONTRUN_DEADLOCK_TRIALS = 5
"""frontrun detects a deadlock by waiting out a wall-clock timeout (about 5 s per trial)."""

FRONTRUN_BUGS = ("lost update", "deadlock", "timer tie")


# -- the same programs for frontrun: tasks receive the shared state ---------------------

async def _slow(state: dict[str, Any]) -> None:
    seen = state["balance"]
    await asyncio.sleep(0)
    state["balance"] = seen + 1


async def _fast(state: dict[str, Any]) -> None:
    await asyncio.sleep(0)
    state["balance"] += 1


async def _first(state: dict[str, Any]) -> None:
    async with state["a"]:
        await asyncio.sleep(0)
        async with state["b"]:
            pass


async def _second(state: dict[str, Any]) -> None:
    await asyncio.sleep(0)
    async with state["b"]:
        await asyncio.sleep(0)
        async with state["a"]:
            pass


async def _writer(state: dict[str, Any]) -> None:
    await asyncio.sleep(1)
    state["price"] = 101.5


async def _reader(state: dict[str, Any]) -> None:
    await asyncio.sleep(1)
    state["stale"] = state["price"] == 0.0


FRONTRUN: dict[str, dict[str, Any]] = {
    "lost update": {"setup": lambda: {"balance": 0}, "tasks": [_slow, _fast],
                    "invariant": lambda s: s["balance"] == 2},
    "deadlock": {"setup": lambda: {"a": asyncio.Lock(), "b": asyncio.Lock()}, "tasks": [_first, _second],
                 "invariant": lambda s: True, "deadlock_timeout": 1.0},
    "timer tie": {"setup": lambda: {"price": 0.0, "stale": False}, "tasks": [_writer, _reader],
                  "invariant": lambda s: not s["stale"], "clock": "explored"},
}


def frontrun_explored(options: dict[str, Any], trial: int) -> int | None:
    import frontrun

    result = asyncio.run(frontrun.explore_async_random(max_attempts=CAP, seed=trial, **options))
    return result.num_explored if result.property_holds is False else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--cap", type=int, default=200, help="seeds per trial before giving up")
    parser.add_argument("--frontrun", action="store_true", help="also run frontrun on three of the programs")
    parser.add_argument("--frontrun-trials", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    kernel_section(args.trials, args.cap)
    print(f"({time.perf_counter() - started:.0f} s)")
    if not args.frontrun:
        return
    print(f"\nfrontrun: interleavings explored to the first counterexample ({args.frontrun_trials} trials)")
    for name in FRONTRUN_BUGS:
        trials = min(args.frontrun_trials, FRONTRUN_DEADLOCK_TRIALS) if name == "deadlock" else args.frontrun_trials
        found = [frontrun_explored(FRONTRUN[name], t) for t in range(trials)]
        hits = [n for n in found if n is not None]
        theirs = f"{statistics.median(hits):g}" if hits else "not found"
        if len(hits) < len(found) or len(found) < args.frontrun_trials:
            theirs += f" ({len(hits)}/{len(found)})"
        print(f"{name:<12} {theirs:>10}")


if __name__ == "__main__":
    main()
