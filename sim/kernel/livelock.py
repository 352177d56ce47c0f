"""kernel.livelock: a run that never ends, bounded by default and explained.

A program whose background loop never stops (``while True: await sleep(1)`` that main
awaits, a retry loop that never succeeds) would run until killed.  Every run is therefore
bounded, by steps and by virtual time; when a bound is hit the kernel runs a short
*observation window* with the trace on and names the tasks that kept stepping in it, with
the site each one loops through: those are the tasks still looping.
"""

from __future__ import annotations

from sim.kernel.sites import format_suspension
from sim.kernel.trace import RawStep
from simwire.violation import Violation

DEFAULT_MAX_STEPS = 5_000_000
"""Steps (task steps and plain callbacks) a run may take; ``max_steps=None`` lifts it.
Seconds to a minute of wall time; far above any test or scenario (a default 2-hour
backtest takes under a thousand steps)."""

DEFAULT_MAX_VIRTUAL_SECONDS = 31 * 86400.0
"""Virtual time a run may reach: 31 days (a scenario of more hours must pass its own bound).
``max_virtual_seconds=None`` lifts it."""

WINDOW = 1000
"""Steps observed after a bound is hit, to see which tasks are still looping."""


def livelock_violation(names: list[str], window: list[RawStep], *, bound: str, now: float) -> Violation:
    """One violation naming every task that stepped in ``window``, most active first."""
    counts: dict[int, int] = {}
    last_site: dict[int, str] = {}
    for task, code, lasti, _ in window:
        counts[task] = counts.get(task, 0) + 1
        last_site[task] = format_suspension(code, lasti)
    ranked = sorted(counts, key=lambda task: (-counts[task], task))
    tasks = [{"task": names[task], "steps": counts[task], "site": last_site[task]} for task in ranked]
    seen = "; ".join(f"{entry['task']} ({entry['steps']} of the next {len(window)} steps) at {entry['site']}"
                     for entry in tasks) or "no task stepped (only plain callbacks)"
    return Violation(
        rule="kernel.livelock",
        message=f"run exceeded {bound} at t={now:g}s; still looping: "
                + (", ".join(entry["task"] for entry in tasks) or "nothing"),
        location=tasks[0]["site"] if tasks else "",
        expected="main returns within the run's bounds (max_steps, max_virtual_seconds)",
        seen=seen,
        details={"tasks": tasks, "bound": bound},
    )
