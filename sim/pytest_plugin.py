"""pytest plugin: run coroutine functions, or the whole trading system, under the
deterministic kernel across seeds.

    def test_transfer(sim_run):
        sim_run(transfer_program, policy="random")      # every selected seed must pass

    def test_backtest(sim_scenario):
        sim_scenario(mode="backtest", policy="random")  # full system, monitor and oracles on

Registered through the ``pytest11`` entry point, so it is active in any project where simwire
is installed (this repository's conftest.py adds it only when it is not installed).

Options: ``--sim-seed N`` runs exactly that seed (what a failure message tells you to
use); ``--sim-seeds N`` runs seeds ``0..N-1`` (default 5).  A run fails on ``main``'s error
or on any kernel violation; the failure names the seed and prints the one command that
reproduces it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
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


class ScenarioRunner:
    """The ``sim_scenario`` fixture: ``sim_scenario(**ScenarioSpec fields) -> list[ScenarioResult]``.

    Runs the whole system once per selected seed with the runtime contract monitor and the
    end-of-run oracles on; any violation fails the test with the ``simwire run`` command that
    reproduces it."""

    def __init__(self, seeds: list[int], nodeid: str) -> None:
        self.seeds = seeds
        self.nodeid = nodeid

    def __call__(self, **spec_fields: Any) -> list[Any]:
        from sim.harness.scenario import ScenarioSpec, run_scenario

        if "seed" in spec_fields:
            raise TypeError("sim_scenario chooses the seeds (--sim-seed/--sim-seeds); do not pass seed=")
        results = []
        for seed in self.seeds:
            result = run_scenario(ScenarioSpec(seed=seed, **spec_fields))
            if result.violations:
                lines = [f"full-system run failed with {len(result.violations)} violation(s):"]
                lines += [violation.render() for violation in result.violations[:10]]
                lines.append(f"reproduce with: {result.spec.repro()}")
                lines.append(f"             or: pytest '{self.nodeid}' --sim-seed {seed}")
                pytest.fail("\n".join(lines), pytrace=False)
            results.append(result)
        return results


def _seeds(request: pytest.FixtureRequest) -> list[int]:
    seed = request.config.getoption("--sim-seed")
    count = request.config.getoption("--sim-seeds")
    if count < 1:
        raise pytest.UsageError(f"--sim-seeds must be >= 1, got {count}")
    return [seed] if seed is not None else list(range(count))


def repro_nodeid(request: pytest.FixtureRequest) -> str:
    """The test's node id as the directory pytest was started from sees it, so the printed
    ``pytest '<id>' --sim-seed N`` works when pasted there (node ids are relative to the
    rootdir, which differs when pytest runs from a subdirectory)."""
    nodeid = request.node.nodeid
    path = getattr(request.node, "path", None)
    if path is None:
        return nodeid
    _, sep, rest = nodeid.partition("::")
    try:
        shown = Path(path).relative_to(request.config.invocation_params.dir).as_posix()
    except ValueError:
        shown = str(path)
    return f"{shown}{sep}{rest}"


@pytest.fixture
def sim_run(request: pytest.FixtureRequest) -> SimRunner:
    """Runs a coroutine function under the kernel for each selected seed (see module doc)."""
    return SimRunner(_seeds(request), repro_nodeid(request))


@pytest.fixture
def sim_scenario(request: pytest.FixtureRequest) -> ScenarioRunner:
    """Runs the whole trading system for each selected seed (see module doc)."""
    return ScenarioRunner(_seeds(request), repro_nodeid(request))
