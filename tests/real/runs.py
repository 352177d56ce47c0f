"""Statement logs of whole simulated runs, the input of the differential tests."""

from __future__ import annotations

from typing import Any

from sim.harness.scenario import ScenarioSpec, run_scenario


def logged_run(spec: ScenarioSpec) -> tuple[Any, list[tuple[str, tuple[Any, ...]]]]:
    """Run ``spec`` and return its result and every statement its simulated database received."""
    result = run_scenario(spec, trace=False)
    assert result.statement_log, [v.message for v in result.violations]
    return result, [(entry.query, entry.args) for entry in result.statement_log]
