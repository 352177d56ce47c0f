"""Coverage-steered exploration: ``simwire explore --steer``.

Plain seeds sample interleavings blindly.  Steering spends half of the budget on *neighbours*
of the runs that added coverage (:meth:`sim.harness.explore.Exploration.coverage`): the same
seed, so the same market data, with its schedule perturbed (the seed's scheduling draws, one in
twenty drawn anew: ``--perturb``) or with another fault mix and PCT depth drawn like
``--swarm`` draws them.  A run that reached new orderings of await sites is
evidence that its region of the space is rich; its neighbours start from there.  So is a run
that reached new bus delivery orders (:class:`sim.harness.recorder.DeliveryOrders`): either
kind counts.

Decisions depend only on finished rounds, read in plan order, never on which worker finished
first, so every runner steers the same way and the report is reproducible.  A neighbour is a
plain :class:`ScenarioSpec` with an explicit ``--faults`` plan: its repro is an ordinary
``simwire run`` line.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from collections.abc import Callable, Iterator

from sim.harness.explore import Exploration, Runner, SeedOutcome, explore
from sim.harness.scenario import ScenarioSpec
from sim.harness.swarm import swarm_spec

NEIGHBOURS = 2
"""Neighbours queued per run that added coverage."""


def neighbour(spec: ScenarioSpec, index: int) -> ScenarioSpec:
    """A run near ``spec`` (seed and data kept).  Even ``index``: a neighbour of its *schedule* —
    the same scheduling draws but about one in twenty, drawn anew (``ScenarioSpec.perturb``),
    so the run takes the same path and branches off here and there.  Odd: the fault mix and PCT
    depth of another swarm draw.  A policy without draws (fifo) only gets the second kind."""
    rng = random.Random(f"simwire-steer:{spec.seed}:{spec.kernel}:{spec.faults}:{spec.pct_depth}:"
                        f"{spec.perturb}:{index}")
    if index % 2 == 0 and spec.policy != "fifo":
        return dataclasses.replace(spec, perturb=1 + rng.randrange(2**31))
    drawn = swarm_spec(dataclasses.replace(spec, seed=rng.randrange(2**31)))
    return dataclasses.replace(spec, faults=drawn.faults, pct_depth=drawn.pct_depth)


def steered(specs: list[ScenarioSpec], *, runner: Runner, round_size: int, recheck_every: int = 10,
            on_outcome: Callable[[SeedOutcome], None] | None = None,
            stop: Callable[[], bool] = lambda: False) -> Exploration:
    """As many runs as ``specs`` has, half of them (once there are any) neighbours of runs
    that added coverage, in rounds of ``round_size``."""
    started = time.perf_counter()
    budget = len(specs)
    plain: Iterator[ScenarioSpec] = iter(specs)
    queued: list[ScenarioSpec] = []
    tried: set[ScenarioSpec] = set()
    seen: set[int] = set()
    delivered: set[int] = set()
    result = Exploration(planned=budget)
    while len(result.outcomes) < budget and not stop():
        size = min(round_size, budget - len(result.outcomes))
        batch = [queued.pop(0) for _ in range(min(size // 2, len(queued)))]
        batch += list(itertools.islice(plain, size - len(batch)))
        while len(batch) < size and queued:
            batch.append(queued.pop(0))
        if not batch:
            break
        tried.update(batch)
        round_result = explore(batch, runner=runner, recheck_every=recheck_every, on_outcome=on_outcome, stop=stop)
        order = {spec: i for i, spec in enumerate(batch)}
        for outcome in sorted(round_result.outcomes, key=lambda o: order[o.spec]):
            if outcome.coverage - seen or outcome.deliveries - delivered:
                seen |= outcome.coverage
                delivered |= outcome.deliveries
                queued += [n for n in (neighbour(outcome.spec, i) for i in range(NEIGHBOURS)) if n not in tried]
        result.outcomes += round_result.outcomes
        if round_result.interrupted:
            result.interrupted = round_result.interrupted
            break
    result.outcomes.sort(key=lambda o: (o.spec.seed, o.spec.kernel, o.spec.faults, o.spec.pct_depth, o.spec.perturb))
    result.wall_seconds = time.perf_counter() - started
    return result
