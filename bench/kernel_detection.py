"""The kernel's bug programs: which policy exposes each, in how many seeds, on both kernels.

Shared by ``bench/kernel_bugs.py`` (the full table) and ``bench/detection.py`` (its kernel
section).  Each program of ``tests/kernel/programs.py`` listed here is correct under fifo and
wrong under some reordering; trial ``t`` tries seeds ``t*10000, t*10000+1, ...`` until the
bug shows, and the figure is the median number of seeds over the trials (a trial that
finds nothing within ``cap`` seeds counts as ``cap + 1`` and shows as ``>cap``).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sim
from sim.kernel import Deadlock
from tests.kernel import programs

BUGS: dict[str, tuple[Callable[[], Any], Callable[[Any], bool]]] = {
    "lost update": (programs.lost_update, programs.raised(programs.LostUpdate)),
    "held back 3 steps": (programs.held_back_withdrawal, programs.raised(programs.LostUpdate)),
    "check-then-act": (programs.check_then_act, programs.raised(programs.Oversold)),
    "late subscribe": (programs.late_subscribe, programs.raised(programs.MissedEvent)),
    "timer tie": (programs.timer_tie, programs.raised(programs.StaleRead)),
    "ABBA deadlock": (programs.deadlock, programs.raised(Deadlock)),
    "starvation": (programs.starved_heartbeat, programs.raised(programs.Starved)),
}

POLICIES = ("random", "shuffle", "pct")
KERNELS = ("asyncio", "trio")


def seeds_to_expose(name: str, policy: str, kernel: str, trial: int, cap: int) -> int:
    main, exposed = BUGS[name]
    for attempt in range(cap):
        result = sim.run(main, policy=policy, kernel=kernel, seed=trial * 10000 + attempt, trace=False,
                         detectors=False)
        if exposed(result):
            return attempt + 1
    return cap + 1


def median_seeds(name: str, policy: str, kernel: str, trials: int, cap: int) -> float:
    return statistics.median(seeds_to_expose(name, policy, kernel, trial, cap) for trial in range(trials))


def fifo_exposes(name: str, kernel: str) -> bool:
    main, exposed = BUGS[name]
    return exposed(sim.run(main, kernel=kernel, detectors=False))


def shown(median: float, cap: int) -> str:
    return f">{cap}" if median > cap else f"{median:g}"


def kernel_section(trials: int = 50, cap: int = 200, out: Any = None) -> list[dict[str, Any]]:
    """Print (to ``out``, default stdout) and return one row per program and kernel."""
    out = out or sys.stdout
    rows = []
    print(f"kernel bug programs: median seeds to expose over {trials} trials (cap {cap})", file=out)
    print(f"{'bug':<20} {'kernel':<8} {'fifo':>6} " + " ".join(f"{p:>8}" for p in POLICIES), file=out)
    for name in BUGS:
        for kernel in KERNELS:
            medians = {policy: median_seeds(name, policy, kernel, trials, cap) for policy in POLICIES}
            fifo = "found" if fifo_exposes(name, kernel) else "never"
            rows.append({"bug": name, "kernel": kernel, "fifo": fifo, **medians})
            print(f"{name:<20} {kernel:<8} {fifo:>6} " + " ".join(f"{shown(medians[p], cap):>8}" for p in POLICIES),
                  file=out, flush=True)
    return rows
