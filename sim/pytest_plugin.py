"""pytest plugin: run coroutine functions under the deterministic kernel across seeds.

    def test_transfer(sim_run):
        sim_run(transfer_program, policy="random")      # every selected seed must pass

Options: ``--sim-seed N`` runs exactly that seed (what a failure message tells you to
use); ``--sim-seeds N`` runs seeds ``0..N-1`` (default 5).  A run fails on ``main``'s error
or on any kernel violation; the failure names the seed and prints the one command that
reproduces it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

DEFAULT_SEEDS = 5


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("simwire", "deterministic simulation (simwire)")
    group.addoption("--sim-seed", type=int, default=None, metavar="N",
                    help="run sim_run tests with exactly this seed (to reproduce a failure)")
    group.addoption("--sim-seeds", type=int, default=DEFAULT_SEEDS, metavar="N",
                    help="run sim_run tests with seeds 0..N-1 (default: %(default)s)")


class SimRunner:
    """The ``sim_run`` fixture: ``sim_run(main, **run_options) -> list[RunResult]``."""

    def __init__(self, seeds: list[int], nodeid: str) -> None:
        self.seeds = seeds
        self.nodeid = nodeid

    def __call__(self, main: Callable[[], Awaitable[Any]], *, allow: tuple[str, ...] = (),
                 **run_options: Any) -> list[Any]:
        """Run ``main`` once per seed; ``allow`` lists violation rules that do not fail the test."""
        from sim.kernel import run

        if "seed" in run_options:
            raise TypeError("sim_run chooses the seeds (--sim-seed/--sim-seeds); do not pass seed=")
        results = []
        for seed in self.seeds:
            result = run(main, seed=seed, **run_options)
            failing = [v for v in result.violations if v.rule not in allow]
            if result.error is not None or failing:
                pytest.fail(self._message(result, failing, seed), pytrace=False)
            results.append(result)
        return results

    def _message(self, result: Any, failing: list[Any], seed: int) -> str:
        lines = [f"simulated run failed: {result.summary()}"]
        if result.error is not None:
            lines.append(f"error: {type(result.error).__name__}: {result.error}")
        lines += [violation.render() for violation in failing]
        lines.append(f"reproduce with: pytest '{self.nodeid}' --sim-seed {seed}")
        return "\n".join(lines)


@pytest.fixture
def sim_run(request: pytest.FixtureRequest) -> SimRunner:
    """Runs a coroutine function under the kernel for each selected seed (see module doc)."""
    seed = request.config.getoption("--sim-seed")
    count = request.config.getoption("--sim-seeds")
    if count < 1:
        raise pytest.UsageError(f"--sim-seeds must be >= 1, got {count}")
    seeds = [seed] if seed is not None else list(range(count))
    return SimRunner(seeds, request.node.nodeid)
