"""What a scenario run does to its process before its clock starts.

A run's ``wall_seconds`` is the run's own cost: the modules the simulated world imports are
the process's start-up (paid once per process, e.g. once per explore worker), so they are
imported before the clock starts.  And once per process, everything then alive is frozen out
of the cyclic garbage collector: a run allocates enough containers to trigger full
collections, and the kernel collects at the end of every run; without the freeze each of those
walks the ~60,000 start-up objects (modules, classes, functions) that can never be garbage,
10-20 % of an explored seed's CPU.  Frozen objects are still freed by reference counting;
only cyclic garbage alive at that one moment is never collected.
"""

from __future__ import annotations

import gc
import importlib
import sys

WORLD_MODULES = ("contracts.migrations", "contracts.monitor", "contracts.registry", "contracts.registry.trading",
                 "contracts.schema", "sim.harness.oracles", "sim.harness.trading_target", "sim.harness.worlds",
                 "sim.kernel.asyncio_loop", "sim.kernel.asyncio_runner", "sim.kernel.trio_runner", "sim.world.exchange",
                 "sim.world.market", "sim.world.ports", "sim.world.questdb", "system.config", "system.container",
                 "system.controllers", "anyio._backends._asyncio", "anyio._backends._trio")
"""What the scenario's world, its judges and the kernels (and the kernel's lock hooks, on both anyio
backends) import."""

_frozen = False


def prepare_process() -> None:
    """Import :data:`WORLD_MODULES`; the first time in a process, then freeze what is alive."""
    global _frozen
    for name in WORLD_MODULES:
        importlib.import_module(name)
    if _frozen:
        return
    _frozen = True
    if "_hypothesis_pytestplugin" in sys.modules:
        # pytest imports Hypothesis at the latest at the session's end, and its trio hook then
        # looks for referrers of trio's PRNG, which it cannot see among frozen objects (a
        # spurious HypothesisWarning): import it now, before the freeze.
        importlib.import_module("hypothesis")
    gc.collect()  # what is already garbage goes now, not frozen with the rest
    gc.freeze()
