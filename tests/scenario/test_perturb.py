"""Schedule neighbours (``--perturb``): the seed's scheduling draws with about one in twenty
drawn anew — what ``explore --steer`` runs near the seeds that reached new interleavings."""

from __future__ import annotations

import dataclasses

import pytest

from sim.harness.scenario import ScenarioSpec, run_scenario
from sim.harness.spec import SpecError
from sim.harness.steer import neighbour
from sim.kernel import PerturbedChoices, SeededChoices


def test_a_perturbed_source_keeps_the_seeds_draws_but_a_few() -> None:
    base = SeededChoices(11)
    draws = [base.choose(1000) for _ in range(5000)]
    source = PerturbedChoices(11, 3, 0.01)
    perturbed = [source.choose(1000) for _ in range(5000)]
    again = PerturbedChoices(11, 3, 0.01)
    assert perturbed == [again.choose(1000) for _ in range(5000)]
    differing = sum(a != b for a, b in zip(draws, perturbed, strict=True))
    assert 20 <= differing <= 90, differing  # ~1 % of 5,000 at rate 0.01, aligned after each deviation
    other = PerturbedChoices(11, 4, 0.01)
    assert perturbed != [other.choose(1000) for _ in range(5000)]
    with pytest.raises(ValueError, match="rate"):
        PerturbedChoices(11, 3, 0.0)


def test_a_perturbed_run_is_its_own_reproducible_run_and_its_repro_says_so() -> None:
    spec = ScenarioSpec(mode="backtest", hours=0.25, policy="random", seed=4)
    near = dataclasses.replace(spec, perturb=9)
    assert "--perturb 9" in near.repro() and "--perturb" not in spec.repro()
    assert "perturb=9" in near.knobs_line()
    hashes = [run_scenario(s, trace=False).trace_hash for s in (spec, near, near)]
    assert hashes[0] != hashes[1] == hashes[2]
    assert "perturb" not in spec.to_json() and near.to_json()["perturb"] == 9
    assert ScenarioSpec.from_json(near.to_json(), "f") == near


def test_fifo_has_nothing_to_perturb() -> None:
    with pytest.raises(SpecError, match="perturb needs a policy that draws"):
        ScenarioSpec(perturb=1)


def test_steering_neighbours_alternate_a_schedule_neighbour_and_a_fault_mix() -> None:
    spec = ScenarioSpec(policy="random", seed=7)
    schedule, faults = neighbour(spec, 0), neighbour(spec, 1)
    assert schedule.perturb > 0 and (schedule.faults, schedule.seed) == (spec.faults, spec.seed)
    assert faults.perturb == 0 and faults.seed == spec.seed
    assert neighbour(spec, 0) == schedule  # decided by the spec alone
    assert neighbour(ScenarioSpec(seed=7), 0).perturb == 0  # fifo: only the fault-mix kind
