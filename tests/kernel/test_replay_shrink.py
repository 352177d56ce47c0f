"""Schedule files, replay, shrink, the determinism check, their commands, and the plugin."""

from __future__ import annotations

import json

import pytest

import sim
from sim.cli import main as simwire
from sim.harness.determinism import check_determinism
from sim.harness.schedule_file import ScheduleFile, ScheduleFileError
from sim.harness.targets import TargetError, resolve
from sim.kernel.shrink import ShrinkError, shrink
from sim.pytest_plugin import SimRunner
from tests.kernel import programs

LOST_UPDATE = "tests.kernel.programs:lost_update"


def failing_lost_update(**options):
    for seed in range(100):
        result = sim.run(programs.lost_update, seed=seed, **options)
        if result.error is not None:
            return result
    raise AssertionError("no failing seed")


@pytest.mark.parametrize("policy", ["random", "pct"])
def test_shrink_leaves_one_deviation_and_still_fails(policy):
    failing = failing_lost_update(policy=policy)
    shrunk = shrink(lambda: programs.lost_update, failing.schedule, policy=policy, seed=failing.seed)
    assert isinstance(shrunk.result.error, programs.LostUpdate)
    assert shrunk.deviations <= min(1 if policy == "random" else 2, shrunk.original_deviations)
    replay = sim.run(programs.lost_update, policy=policy, schedule=shrunk.schedule)
    assert replay.trace_hash == shrunk.result.trace_hash
    assert shrunk.to_mermaid().startswith("sequenceDiagram")


def test_shrink_refuses_a_passing_schedule():
    with pytest.raises(ShrinkError, match="does not fail"):
        shrink(lambda: programs.lost_update, [], policy="random")


def test_schedule_file_round_trip_and_errors(tmp_path):
    failing = failing_lost_update(policy="random")
    path = tmp_path / "run.json"
    ScheduleFile.from_result(LOST_UPDATE, failing).save(path)
    loaded = ScheduleFile.load(path)
    assert loaded.choices == failing.schedule and loaded.trace_hash == failing.trace_hash
    path.write_text(json.dumps({"target": LOST_UPDATE, "choices": [0, "1"]}))
    with pytest.raises(ScheduleFileError, match=r"run\.json: choices\[1\] must be a non-negative int"):
        ScheduleFile.load(path)
    path.write_text(json.dumps({"target": LOST_UPDATE, "sead": 1}))
    with pytest.raises(ScheduleFileError, match=r"unknown field\(s\) sead"):
        ScheduleFile.load(path)
    path.write_text("{")
    with pytest.raises(ScheduleFileError, match=r"run\.json:1: not JSON"):
        ScheduleFile.load(path)


def test_targets():
    assert resolve(LOST_UPDATE)() is programs.lost_update
    with pytest.raises(TargetError, match="expected 'module:function'"):
        resolve("tests.kernel.programs")
    with pytest.raises(TargetError, match="has no attribute 'nope'"):
        resolve("tests.kernel.programs:nope")


def test_replay_and_shrink_commands(tmp_path, capsys):
    failing = failing_lost_update(policy="random")
    path = tmp_path / "lost.json"
    ScheduleFile.from_result(LOST_UPDATE, failing).save(path)
    mermaid = tmp_path / "lost.mmd"
    assert simwire(["replay", str(path), "--mermaid", str(mermaid)]) == 1  # reproduces the failure
    assert "LostUpdate" in capsys.readouterr().out
    assert mermaid.read_text().startswith("sequenceDiagram")
    assert simwire(["shrink", str(path)]) == 0
    out = capsys.readouterr().out
    assert "deviation(s) from fifo" in out and "sequenceDiagram" in out
    minimal = ScheduleFile.load(tmp_path / "lost.min.json")
    assert sum(1 for choice in minimal.choices if choice) == 1
    tampered = ScheduleFile.load(path)
    tampered.trace_hash = "0" * 64
    tampered.save(path)
    assert simwire(["replay", str(path)]) == 1
    assert "trace hash MISMATCH" in capsys.readouterr().out


def test_replay_usage_error_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        simwire(["replay", str(tmp_path / "missing.json")])
    assert exit_info.value.code == 2
    assert "missing.json: cannot read schedule file" in capsys.readouterr().err


def test_determinism_identical_across_processes(capsys):
    report = check_determinism("tests.kernel.programs:busy_day", seed=5, policy="random")
    assert report.identical, report.render()
    assert len(set(report.hashes.values())) == 1 and len(report.hashes) == 3
    assert simwire(["determinism", "--target", "tests.kernel.programs:busy_day", "--kernel", "trio"]) == 0
    assert "identical" in capsys.readouterr().out


def test_determinism_names_the_first_divergence_in_process():
    report = check_determinism("tests.kernel.nondeterministic:drifting", subprocess_check=False)
    assert not report.identical
    assert report.between == ("in-process #1", "in-process #2")
    assert report.divergence is not None and report.divergence.task == "drifting#1"
    assert "first divergence: step" in report.render()


def test_determinism_catches_hash_seed_dependence():
    """Set iteration order of strings follows PYTHONHASHSEED; the subprocess run sees it."""
    report = check_determinism("tests.kernel.programs:set_order", policy="fifo")
    assert report.hashes["in-process #1"] == report.hashes["in-process #2"]
    assert not report.identical
    assert report.between is not None and report.between[1].startswith("subprocess PYTHONHASHSEED=")


def test_sim_run_fixture_runs_every_selected_seed(sim_run, request):
    results = sim_run(programs.busy_day, policy="random")
    expected = request.config.getoption("--sim-seed")
    assert [r.seed for r in results] == ([expected] if expected is not None else list(range(5)))


def test_sim_run_failure_prints_the_reproducing_command():
    runner = SimRunner(list(range(20)), "tests/kernel/test_x.py::test_y")
    with pytest.raises(pytest.fail.Exception) as failure:
        runner(programs.lost_update, policy="random")
    message = str(failure.value)
    assert "LostUpdate" in message
    seed = failing_lost_update(policy="random").seed
    assert f"reproduce with: pytest 'tests/kernel/test_x.py::test_y' --sim-seed {seed}" in message
    assert runner(programs.abba_locks, allow=("kernel.lock-order",))
