"""The pytest plugin's full-system fixture."""

from __future__ import annotations

import pytest

from sim.harness import scenario
from sim.pytest_plugin import ScenarioRunner
from simwire.violation import Violation


def test_sim_scenario_runs_each_selected_seed_clean(sim_scenario, request):
    results = sim_scenario(mode="backtest", policy="random", hours=0.5)
    assert [r.spec.seed for r in results] == list(range(request.config.getoption("--sim-seeds")))
    assert all(r.clean and r.summary["ticks"] == 3 * 1800 for r in results)


def test_a_violation_fails_the_test_with_the_repro_command(monkeypatch):
    real = scenario.run_scenario

    def with_a_violation(spec, **options):
        result = real(spec, **options)
        result.violations.append(Violation("oracle.accounting", "books do not balance"))
        return result

    monkeypatch.setattr(scenario, "run_scenario", with_a_violation)
    with pytest.raises(pytest.fail.Exception) as failure:
        ScenarioRunner([3], "tests/x.py::test_y")(hours=0.5)
    message = str(failure.value)
    assert "oracle.accounting" in message
    assert "simwire run --mode backtest --seed 3" in message
    assert "pytest 'tests/x.py::test_y' --sim-seed 3" in message


def test_passing_a_seed_is_refused():
    with pytest.raises(TypeError, match="chooses the seeds"):
        ScenarioRunner([0], "n")(seed=1)
