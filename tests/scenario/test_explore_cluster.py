"""``explore --cluster local``: a real Dask local cluster (worker processes) gives what local
workers give on the same seeds: the same failures, seeds, rules and repro lines."""

from __future__ import annotations

import json

import pytest

from sim.cli import main
from sim.harness.explore_cluster import INSTALL_HINT, available

# seeds 1-3 of this plan fail (the retry budget runs out), seed 0 is clean: both kinds in one run
FAILING = ["--seeds", "4", "--hours", "0.2", "--faults", "db_error_rate=0.6", "--no-shrink", "--json"]

pytestmark = pytest.mark.skipif(not available(), reason=f"Dask distributed is not installed ({INSTALL_HINT})")


def _explore(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["explore", *argv])
    return code, json.loads(capsys.readouterr().out)


def _comparable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("wall_seconds", "seeds_per_second")}


def test_a_local_cluster_finds_the_same_failures_in_the_same_seeds_as_local_workers(capsys):
    workers_code, workers = _explore([*FAILING, "--workers", "2"], capsys)
    cluster_code, cluster = _explore([*FAILING, "--cluster", "local", "--workers", "2"], capsys)
    assert workers_code == cluster_code == 1
    assert [f["seed"] for f in cluster["failures"]] == [1, 2, 3]
    assert _comparable(cluster) == _comparable(workers), "same JSON: failures, rules, repro lines, violations"


def test_an_unreachable_scheduler_is_a_usage_error(capsys):
    code = main(["explore", "--seeds", "1", "--hours", "0.1", "--cluster", "tcp://127.0.0.1:9", "--json"])
    assert code == 2
    assert "cannot reach a Dask scheduler" in capsys.readouterr().err


def test_a_worker_lost_mid_run_costs_its_runs_a_retry_not_the_exploration():
    """Kill one of two worker processes while runs are in flight: every seed still reports."""
    import os
    import signal

    from sim.harness import explore
    from sim.harness.explore_cluster import _client, _outcomes
    from sim.harness.scenario import ScenarioSpec

    specs = explore.plan(ScenarioSpec(hours=0.1), seeds=4, start=0, kernels=("asyncio",))
    with _client("local", 2) as client:
        outcomes = _outcomes(client, explore.jobs(specs, 0), lambda: False)
        first = next(outcomes)
        victim = sorted(client.run(os.getpid).values())[0]
        os.kill(victim, signal.SIGKILL)  # a worker process dead without a goodbye; its nanny restarts it
        rest = list(outcomes)
    assert sorted(o.spec.seed for o in [first, *rest]) == [0, 1, 2, 3]
    assert all(o.clean for o in [first, *rest])


def test_workers_that_cannot_start_a_simulation_process_are_reported_not_a_traceback(monkeypatch, capsys):
    """A cluster of your own with daemonic workers (Dask's default): exit 2 saying what to set."""
    from sim.harness import explore_cluster

    monkeypatch.setattr(explore_cluster, "WORKER_CONFIG",
                        {**explore_cluster.WORKER_CONFIG, "distributed.worker.daemon": True})
    code = main(["explore", "--seeds", "1", "--hours", "0.1", "--cluster", "local", "--workers", "1", "--json"])
    assert code == 2
    err = capsys.readouterr().err
    assert "DASK_DISTRIBUTED__WORKER__DAEMON=False" in err and "Traceback" not in err
