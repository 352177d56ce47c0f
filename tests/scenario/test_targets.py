"""Targets: a non-trading system (examples/tally) run, explored, mutated and replayed through the
one session driver; schedule files; determinism of outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main as simwire
from sim.harness import mutants
from sim.harness.explore import explore, plan
from sim.harness.outputs import check_session_determinism, first_difference, output_difference, output_items
from sim.harness.schedule_file import ScheduleFile, ScheduleFileError
from sim.harness.session import run_scenario
from sim.harness.spec import ScenarioSpec, SpecError
from sim.harness.targets import load_target

ROOT = Path(__file__).resolve().parents[2]
TALLY = "examples.tally.target:TARGET"
SHORT = {"target": TALLY, "hours": 0.25, "symbols": ("M1", "M2")}
TALLY_ARGS = ["--target", TALLY, "--hours", "0.25", "--symbols", "M1,M2"]


@pytest.mark.parametrize(("kernel", "policy"), [("asyncio", "fifo"), ("asyncio", "pct"), ("trio", "random")])
def test_a_non_trading_target_runs_clean_and_is_observed(kernel: str, policy: str) -> None:
    result = run_scenario(ScenarioSpec(seed=3, kernel=kernel, policy=policy, **SHORT))
    assert result.violations == []
    assert result.summary["events"] == {"reading": 30, "total": 2}
    assert result.summary["rows"] == {"readings": 30, "totals": 2}
    assert len(result.statement_log) == 32 and result.trace_hash


def test_the_registry_derived_checks_apply_to_the_target() -> None:
    """The runtime monitor judges tally by its own registry and migrations (a payload the
    registry does not declare is a contract finding), not by the trading registry."""
    from contracts.registry import Field, Registry, Topic
    from examples.tally.registry import REGISTRY, TOPICS
    from examples.tally.target import TallyTarget

    narrow = Registry(name="narrow", modes=REGISTRY.modes, topics={
        **{t.name: t for t in TOPICS},
        "total": Topic("total", fields=(Field("meter", ("str",)),), producers=("Aggregator",),
                       consumers=TOPICS[1].consumers, required_roles=TOPICS[1].required_roles),
    })

    class Narrow(TallyTarget):
        def registry(self) -> Registry:
            return narrow

    import sim.kernel
    from sim.harness.session import SessionDriver
    from sim.harness.worlds import SimulatedWorld

    driver = SessionDriver(ScenarioSpec(**SHORT), SimulatedWorld(), Narrow())
    result = driver.result(sim.kernel.run(driver.main))
    assert "contract.payload-unknown-field" in {v.rule for v in result.violations}


def test_tally_explored_over_200_seeds_is_clean() -> None:
    specs = plan(ScenarioSpec(policy="random", **SHORT), seeds=200, start=0, kernels=("asyncio",))
    exploration = explore(specs, recheck_every=50)
    assert len(exploration.outcomes) == 200
    assert exploration.failures == [], exploration.to_json()["failures"][:2]
    assert len({o.trace_hash for o in exploration.outcomes}) > 100  # the seeds did explore other schedules


def test_tally_catalogue_is_all_detected_and_the_control_is_clean() -> None:
    catalogue = mutants.load_catalogue(ROOT / "examples" / "tally" / "catalogue")
    results = mutants.run_catalogue(catalogue, ROOT, workers=2)
    assert {r.id: r.status for r in results} == {m.id: "detected" for m in catalogue.mutants}
    control = mutants.run_control(catalogue, ROOT)
    assert control.clean, control.to_json()


def test_unknown_targets_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert simwire(["run", "--target", "no_such_module:TARGET"]) == 2
    assert "cannot import module 'no_such_module'" in capsys.readouterr().err
    assert simwire(["run", "--target", "examples.tally.app:READING"]) == 2
    assert "is not a Target" in capsys.readouterr().err
    assert simwire(["run", *TALLY_ARGS, "--mode", "live"]) == 2
    assert "runs mode(s) backtest, not 'live'" in capsys.readouterr().err
    with pytest.raises(SpecError, match="expected 'trading' or 'module:attr'"):
        load_target("tally")


def test_run_explore_replay_shrink_and_determinism_take_the_target(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    schedule = tmp_path / "tally.json"
    assert simwire(["run", *TALLY_ARGS, "--seed", "4", "--policy", "random", "--schedule-out", str(schedule)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SEED=4 target=examples.tally.target:TARGET mode=backtest kernel=asyncio policy=random")
    data = json.loads(schedule.read_text())
    assert set(data) == {"target", "spec", "choices", "trace_hash"} and data["target"] == TALLY
    assert data["spec"]["seed"] == 4 and data["spec"]["symbols"] == ["M1", "M2"]

    assert simwire(["replay", str(schedule)]) == 0
    assert "trace hash MISMATCH" not in capsys.readouterr().out
    assert simwire(["determinism", str(schedule)]) == 0
    assert "identical: every run produced the same trace and outputs" in capsys.readouterr().out
    assert simwire(["shrink", str(schedule)]) == 1  # a clean run has nothing to shrink
    assert "does not fail" in capsys.readouterr().out

    assert simwire(["explore", *TALLY_ARGS, "--seeds", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == 3


def test_a_failing_target_run_shrinks_to_a_schedule_file_that_replays(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Database errors make tally's store lose readings (it has no retry): a real finding, shrunk."""
    schedule = tmp_path / "flaky.json"
    args = [*TALLY_ARGS, "--faults", "db_error_rate=0.2", "--policy", "random", "--seed", "2"]
    assert simwire(["run", *args, "--schedule-out", str(schedule)]) == 1
    capsys.readouterr()
    assert "oracle.not-persisted" in json.loads(schedule.read_text())["rules"]
    assert simwire(["shrink", str(schedule), "--max-runs", "20"]) == 0
    out = capsys.readouterr().out
    assert "deviation(s) from fifo" in out and "sequenceDiagram" in out
    minimal = ScheduleFile.load(tmp_path / "flaky.min.schedule.json")
    assert minimal.target == TALLY and minimal.rules
    assert simwire(["replay", str(tmp_path / "flaky.min.schedule.json")]) == 1  # still fails, same hash
    assert "MISMATCH" not in capsys.readouterr().out


def test_one_schedule_format_for_programs_and_targets(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"target": TALLY, "spec": {"seed": 1, "hourz": 2}, "choices": []}))
    with pytest.raises(ScheduleFileError, match=r"s\.json: unknown spec field\(s\) hourz"):
        ScheduleFile.load(path)
    path.write_text(json.dumps({"target": TALLY, "spec": {"kernel": "trio", "policy": "walk"}, "choices": []}))
    with pytest.raises(ScheduleFileError, match=r"s\.json: unknown policy 'walk'"):
        ScheduleFile.load(path)
    # files of the previous versions are still read
    path.write_text(json.dumps({"scenario": {"mode": "paper", "seed": 3, "symbols": ["BTC_USDT"]}, "choices": [1]}))
    legacy = ScheduleFile.load(path)
    assert legacy.target == "trading" and legacy.scenario_spec(path).mode == "paper"
    path.write_text(json.dumps({"target": "tests.kernel.programs:lost_update", "seed": 4, "policy": "pct"}))
    program = ScheduleFile.load(path)
    assert program.is_program and program.run_options()["seed"] == 4


def test_determinism_names_the_first_differing_row_when_the_schedule_is_the_same() -> None:
    report = check_session_determinism(ScenarioSpec(**{**SHORT, "target": "tests.scenario.leaky_target:LEAKY"}),
                                       subprocess_check=False)
    assert not report.identical
    assert len(set(report.hashes.values())) == 1  # same schedule: only the outputs tell
    assert report.divergence is None and report.output_difference.startswith("event reading #0: ")
    assert "first difference: event reading #0" in report.render()


def test_determinism_across_hash_seeds_covers_outputs() -> None:
    report = check_session_determinism(ScenarioSpec(**{**SHORT, "target": "tests.scenario.leaky_target:HASH_ORDERED"}))
    assert not report.identical and "subprocess" in report.between[1]
    assert report.output_difference is not None and "reading_id" in report.output_difference
    clean = check_session_determinism(ScenarioSpec(**SHORT))
    assert clean.identical and len(set(clean.digests.values())) == 1 and len(clean.digests) == 4  # + TZ


def test_explore_rechecks_outputs_not_only_schedules() -> None:
    specs = plan(ScenarioSpec(**{**SHORT, "target": "tests.scenario.leaky_target:LEAKY"}), seeds=1, start=0,
                 kernels=("asyncio",))
    [outcome] = explore(specs, recheck_every=1).outcomes
    assert outcome.rules == ["kernel.nondeterminism"]
    assert "same schedule twice but produced different outputs" in outcome.violations[0].message
    assert outcome.violations[0].seen.startswith("event reading #0: ")


def test_the_grouped_output_comparison_names_what_the_item_by_item_one_names() -> None:
    first, again, other = (run_scenario(ScenarioSpec(**{**SHORT, "target": "trading", "seed": seed}))
                           for seed in (1, 1, 2))
    assert output_difference(first, again) is None
    difference = output_difference(first, other)
    assert difference is not None and difference == first_difference(output_items(first), output_items(other))


def test_a_target_that_fails_to_build_or_judge_is_a_finding_not_a_traceback() -> None:
    import sim.kernel
    from examples.tally.target import TallyTarget
    from sim.harness.session import SessionDriver
    from sim.harness.targets import Ports, SessionRecord
    from sim.harness.worlds import SimulatedWorld

    class Broken(TallyTarget):
        async def build(self, ports: Ports) -> Any:
            raise RuntimeError("no meters configured")

    class BadJudge(TallyTarget):
        def judge(self, record: SessionRecord) -> list[Any]:
            raise KeyError("value")

    for target, message in ((Broken(), "the run raised RuntimeError: no meters configured"),
                            (BadJudge(), "the oracles of target 'tally' raised KeyError")):
        driver = SessionDriver(ScenarioSpec(**SHORT), SimulatedWorld(), target)
        result = driver.result(sim.kernel.run(driver.main))
        assert [v.rule for v in result.violations] == ["oracle.crash"]
        assert message in result.violations[0].message
