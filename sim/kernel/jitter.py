"""Virtual-time jitter: timers that fall due *nearly* together may fire in either order.

The walk reorders everything that is ready at one instant, timers tied to the same deadline
included; two timers 1 ms apart are never ready together, so their order is fixed.  With
``sim.run(..., jitter=J)`` every timer set for the future is delayed by one of
``0, J/7, 2J/7, ..., J`` seconds, drawn from the run's choice source (recorded, replayed,
shrunk like every other choice: draw 0 is no delay, so all-zero draws are the unjittered
run).  asyncio: every ``call_at``/``call_later`` and the kernel's sleep; trio:
``trio.sleep``/``trio.sleep_until`` (so anyio's sleep on both).  Off by default: it moves
virtual time readings, so a program whose outputs carry timestamps gets other timestamps.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.kernel.patches import Patches

JITTER_STEPS = 8
"""Distinct delays a timer can get, ``0`` to ``jitter`` inclusive."""


def jitter_draw(choose: Callable[[int], int], jitter: float) -> Callable[[], float]:
    """A function returning one drawn delay per call."""
    unit = jitter / (JITTER_STEPS - 1)
    return lambda: choose(JITTER_STEPS) * unit


def jitter_trio_sleeps(draw: Callable[[], float]) -> Patches:
    """Delay trio's sleeps by drawn amounts until ``.restore()``."""
    import trio
    import trio._timeouts as timeouts

    patches = Patches()
    real_sleep_until = timeouts.sleep_until

    async def sleep_until(deadline: float) -> None:
        if deadline > trio.current_time():
            deadline += draw()
        await real_sleep_until(deadline)

    patches.set(timeouts, "sleep_until", sleep_until)
    patches.set(trio, "sleep_until", sleep_until)
    return patches
