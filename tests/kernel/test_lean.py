"""Lean by default: the trace is recovered by replaying the schedule; coverage is cheap."""

from __future__ import annotations

import pytest

import sim
from sim.kernel import SimulationError
from tests.kernel import nondeterministic, programs

KERNELS = ["asyncio", "trio"]


def rows(trace):
    return [(step.task, step.site, step.time) for step in trace]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("policy", ["fifo", "random", "pct"])
def test_a_default_run_recovers_the_exact_trace(kernel, policy):
    lean = sim.run(programs.busy_day, seed=5, policy=policy, kernel=kernel)
    full = sim.run(programs.busy_day, seed=5, policy=policy, kernel=kernel, trace=True)
    assert rows(lean.trace) == rows(full.trace)
    assert lean.trace.names == full.trace.names


def test_a_trace_that_cannot_be_recovered_says_why():
    result = sim.run(nondeterministic.drifting)
    with pytest.raises(SimulationError, match=r"cannot be recovered.*trace=True"):
        list(result.trace)


@pytest.mark.parametrize("kernel", KERNELS)
def test_coverage_is_deterministic_and_grows_with_seeds(kernel):
    traced = sim.run(programs.busy_day, seed=2, policy="random", kernel=kernel, trace=True)
    lean = sim.run(programs.busy_day, seed=2, policy="random", kernel=kernel, trace=False, coverage=True)
    assert traced.coverage and traced.coverage == lean.coverage
    assert sim.run(programs.busy_day, seed=2, policy="random", kernel=kernel).coverage == frozenset()
    union = set()
    for seed in range(8):
        union |= sim.run(programs.busy_day, seed=seed, policy="random", kernel=kernel, coverage=True).coverage
    assert len(union) > len(traced.coverage)
