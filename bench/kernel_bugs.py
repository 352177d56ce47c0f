"""Bug finding: seeds needed to expose each known-bug program, random vs pct, beside frontrun.

    python bench/kernel_bugs.py [--trials 50] [--frontrun-trials 50]

For each program of ``tests/kernel/programs.py`` whose bug needs a reordering (lost update,
deadlock, timer tie), trial ``t`` tries seeds ``t*10000, t*10000+1, ...`` until the bug
shows; the figure is the median number of seeds over ``--trials`` trials (lower is better).
frontrun's async random explorer runs the same program bodies (its tasks get the shared
state as an argument) with ``seed=t``; its figure is the interleavings it explored until
the first counterexample.  The lock-order and unawaited/leaked programs are not here: the
kernel's detectors report those on the first run, whatever the schedule.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import frontrun

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sim
from sim.kernel import Deadlock
from tests.kernel import programs

CAP = 2000
"""Seeds tried per trial before giving up (a trial that gives up counts as CAP)."""

FRONTRUN_DEADLOCK_TRIALS = 5
"""frontrun detects a deadlock by waiting out a wall-clock timeout (about 5 s per trial)."""

BUGS: dict[str, tuple[Callable[[], Any], Callable[[Any], bool]]] = {
    "lost update": (programs.lost_update, lambda r: isinstance(r.error, programs.LostUpdate)),
    "deadlock": (programs.deadlock, lambda r: isinstance(r.error, Deadlock)),
    "timer tie": (programs.timer_tie, lambda r: r.error is not None),
}


def seeds_to_expose(main: Callable[[], Any], exposed: Callable[[Any], bool], policy: str, trial: int) -> int:
    for attempt in range(CAP):
        result = sim.run(main, policy=policy, seed=trial * 10000 + attempt, trace=False, detectors=False)
        if exposed(result):
            return attempt + 1
    return CAP


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
    result = asyncio.run(frontrun.explore_async_random(max_attempts=CAP, seed=trial, **options))
    return result.num_explored if result.property_holds is False else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--frontrun-trials", type=int, default=50)
    args = parser.parse_args()
    print(f"median seeds to expose over {args.trials} trials (frontrun: interleavings explored, "
          f"{args.frontrun_trials} trials)")
    print(f"{'bug':<12} {'fifo':>6} {'random':>8} {'pct':>8} {'frontrun':>10} {'wall s':>8}")
    for name, (program, exposed) in BUGS.items():
        started = time.perf_counter()
        fifo = "found" if exposed(sim.run(program, detectors=False)) else "never"
        medians = [statistics.median(seeds_to_expose(program, exposed, policy, t) for t in range(args.trials))
                   for policy in ("random", "pct")]
        trials = min(args.frontrun_trials, FRONTRUN_DEADLOCK_TRIALS) if name == "deadlock" else args.frontrun_trials
        found = [frontrun_explored(FRONTRUN[name], t) for t in range(trials)]
        hits = [n for n in found if n is not None]
        theirs = f"{statistics.median(hits):g}" if hits else "not found"
        if len(hits) < len(found) or len(found) < args.frontrun_trials:
            theirs += f" ({len(hits)}/{len(found)})"
        print(f"{name:<12} {fifo:>6} {medians[0]:8g} {medians[1]:8g} {theirs:>10} "
              f"{time.perf_counter() - started:8.1f}")


if __name__ == "__main__":
    main()
