"""What a scenario run does to its process before the clock starts: world modules imported once,
start-up objects frozen out of the collector once, never a run's own objects."""

from __future__ import annotations

import gc
import sys

from sim.harness.process import WORLD_MODULES
from sim.harness.scenario import ScenarioSpec, run_scenario


def test_world_modules_are_loaded_and_only_start_up_objects_are_frozen():
    run_scenario(ScenarioSpec(hours=0.05), trace=False)
    assert all(name in sys.modules for name in WORLD_MODULES)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    result = run_scenario(ScenarioSpec(hours=0.05, seed=1), trace=False)
    assert result.clean
    # a second run freezes nothing more: freezing each run's objects would keep every run's
    # cyclic garbage for the life of an explore worker (frozen objects may still be freed)
    assert gc.get_freeze_count() <= frozen
