"""One full-system session under a deterministic kernel: the heart of ``simwire run``.

The parts live by role; this module is the front door most callers import:

* :mod:`sim.harness.spec` — :class:`ScenarioSpec`, the single header of a run (validation, ``repro()``,
  the knobs line, sub-seeds) and the one definition of MODES (KERNELS and POLICIES are the
  kernel's own);
* :mod:`sim.harness.session` — the one session driver and the one result type, :class:`ScenarioResult`;
* :mod:`sim.harness.worlds` — the simulated and the real-database worlds (they only build ports);
* :mod:`sim.harness.targets` — the protocol any system under test implements;
  :mod:`sim.harness.trading_target` — the built-in trading target.
"""

from __future__ import annotations

from sim.harness.session import ScenarioResult, SessionDriver, run_scenario
from sim.harness.spec import DEFAULT_SYMBOLS, KERNELS, MODES, POLICIES, ScenarioSpec, SpecError
from sim.harness.trading_target import TRADING_TABLES, full_system_backtest, migrations_dir

__all__ = [
    "DEFAULT_SYMBOLS", "KERNELS", "MODES", "POLICIES", "TRADING_TABLES", "ScenarioResult", "ScenarioSpec",
    "SessionDriver", "SpecError", "full_system_backtest", "migrations_dir", "run_scenario",
]
