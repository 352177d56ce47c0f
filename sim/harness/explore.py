"""Seeded exploration: many full-system runs, each judged, failures reported with their repro.

Like FoundationDB's simulation, the harness checks its own determinism as it goes: every
``recheck_every``-th seed is run twice and any difference in trace hash is itself a failure
(``kernel.nondeterminism``).

Seeds spread over processes on one machine with ``workers``.  To shard across machines, give
each machine its own ``--start``/``--seeds`` range (a CI matrix, or pytest-xdist over
``tests/test_explore_shards.py``-style parametrised tests): seeds are independent, so no
coordinator is needed.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sim.harness.scenario import ScenarioSpec, run_scenario
from simwire.violation import Violation


@dataclass(frozen=True)
class SeedOutcome:
    spec: ScenarioSpec
    trace_hash: str
    violations: tuple[Violation, ...]
    wall_seconds: float

    @property
    def clean(self) -> bool:
        return not self.violations

    @property
    def rules(self) -> list[str]:
        return sorted({v.rule for v in self.violations})


@dataclass
class Exploration:
    outcomes: list[SeedOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def failures(self) -> list[SeedOutcome]:
        return [o for o in self.outcomes if not o.clean]

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": len(self.outcomes),
            "start": min((o.spec.seed for o in self.outcomes), default=0),
            "failures": [
                {"seed": o.spec.seed, "kernel": o.spec.kernel, "policy": o.spec.policy, "rules": o.rules,
                 "repro": o.spec.repro(), "violations": [v.to_json() for v in o.violations]}
                for o in self.failures
            ],
            "clean": not self.failures,
            "wall_seconds": round(self.wall_seconds, 3),
            "seeds_per_second": round(len(self.outcomes) / self.wall_seconds, 3) if self.wall_seconds else None,
        }


def plan(base: ScenarioSpec, *, seeds: int, start: int, kernels: tuple[str, ...]) -> list[ScenarioSpec]:
    """The runs of an exploration, in the order they are reported."""
    return [dataclasses.replace(base, seed=seed, kernel=kernel)
            for seed in range(start, start + seeds) for kernel in kernels]


def run_one(spec: ScenarioSpec, recheck: bool = False) -> SeedOutcome:
    started = time.perf_counter()
    result = run_scenario(spec, trace=False)
    violations = list(result.violations)
    if recheck:
        again = run_scenario(spec, trace=False)
        if again.trace_hash != result.trace_hash:
            violations.append(Violation(
                "kernel.nondeterminism",
                f"seed {spec.seed} gave two different trace hashes in one process",
                location=f"seed {spec.seed} on {spec.kernel}",
                expected=result.trace_hash, seen=again.trace_hash, repro=spec.repro(),
            ))
        else:
            violations += outputs_differ(spec, result, again)
    return SeedOutcome(spec, result.trace_hash, tuple(violations), time.perf_counter() - started)


def outputs_differ(spec: ScenarioSpec, first: Any, second: Any) -> list[Violation]:
    """``kernel.nondeterminism`` when two runs of one schedule produced different events or rows."""
    from sim.harness.outputs import first_difference, output_items

    difference = first_difference(output_items(first), output_items(second))
    if difference is None:
        return []
    return [Violation("kernel.nondeterminism",
                      f"seed {spec.seed} took the same schedule twice but produced different outputs",
                      location=f"seed {spec.seed} on {spec.kernel}", expected="the same events and rows",
                      seen=difference, repro=spec.repro())]


def explore(specs: list[ScenarioSpec], *, workers: int = 1, recheck_every: int = 10, first_failure: bool = False,
            on_outcome: Callable[[SeedOutcome], None] | None = None) -> Exploration:
    """Run every spec (or until the first failure with ``first_failure``, in seed order when
    ``workers`` is 1)."""
    started = time.perf_counter()
    exploration = Exploration()
    outcomes = _outcomes(specs, workers, recheck_every)
    for outcome in outcomes:
        exploration.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
        if first_failure and not outcome.clean:
            outcomes.close()
            break
    exploration.outcomes.sort(key=lambda o: (o.spec.seed, o.spec.kernel))
    exploration.wall_seconds = time.perf_counter() - started
    return exploration


def _outcomes(specs: list[ScenarioSpec], workers: int, recheck_every: int) -> Iterator[SeedOutcome]:
    rechecks = [recheck_every > 0 and i % recheck_every == 0 for i in range(len(specs))]
    if workers <= 1:
        for spec, recheck in zip(specs, rechecks, strict=True):
            yield run_one(spec, recheck)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_one, spec, recheck) for spec, recheck in zip(specs, rechecks, strict=True)]
        try:
            for future in concurrent.futures.as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
