"""Deterministic simulation of async systems: kernels with a virtual clock and seeded
scheduling, simulated QuestDB and market data, fault plans, the full-system scenario
runner, exploration, replay and shrinking.

Public entry point: :func:`sim.run` runs any asyncio/anyio coroutine function under a
deterministic kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.kernel import RunResult


def run(main: Any, **options: Any) -> RunResult:
    """Run ``main()`` under a deterministic kernel; see :func:`sim.kernel.run`."""
    from sim.kernel import run as kernel_run

    return kernel_run(main, **options)


__all__ = ["run"]
