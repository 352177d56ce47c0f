"""CI-facing behaviour of the CLI: bad input is exit 2 naming what and where (checked before a
run), results stream to a file and resume, a stop keeps the finished runs, JUnit XML, progress
lines off a terminal, output that is never cut."""

from __future__ import annotations

import io
import json
import os
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim.cli import main
from sim.cli.progress import ProgressLines
from sim.harness import explore
from sim.harness.scenario import ScenarioSpec

QUICK = ["--hours", "0.1"]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--hours", "nan"], "expected a number > 0, got 'nan'"),
    (["run", "--symbols", "BTC_USDT,,ETH_USDT"], "symbols 'BTC_USDT,,ETH_USDT': item 2 is empty"),
    (["run", "--trace-out", "/nonexistent-dir/t.jsonl"], "directory /nonexistent-dir does not exist"),
    (["run", "--perfetto-out", "/nonexistent-dir/t.json"], "--perfetto-out: cannot write"),
    (["run", "--schedule-out", "/nonexistent-dir/s.json"], "--schedule-out: cannot write"),
    (["explore", "--results", "/nonexistent-dir/r.jsonl"], "--results: cannot write"),
    (["explore", "--junit-xml", "/nonexistent-dir/j.xml"], "--junit-xml: cannot write"),
    (["explore", "--resume", "/nonexistent-dir/r.jsonl"], "--resume: /nonexistent-dir/r.jsonl: no such file"),
    (["explore", "--progress-every", "0"], "--progress-every"),
    (["mutants", "--root", "/nonexistent-dir"], "--root: /nonexistent-dir: no such directory"),
    (["mutants", "--junit-xml", "/nonexistent-dir/j.xml"], "--junit-xml: cannot write"),
    (["replay", "/nonexistent-dir/s.json"], "/nonexistent-dir/s.json: cannot read schedule file"),
])
def test_bad_input_is_a_usage_error_naming_what_and_where(argv, message, capsys):
    assert message in _usage_error(argv, capsys)


@pytest.mark.parametrize("flag", ["--trace-out", "--perfetto-out", "--schedule-out"])
def test_an_output_file_onto_a_directory_is_refused_before_the_run(flag, tmp_path, capsys):
    err = _usage_error(["run", flag, str(tmp_path)], capsys)
    assert f"{tmp_path} is a directory; give a file name" in err
    assert "SEED=" not in capsys.readouterr().out, "nothing ran"


def test_an_id_prefix_given_to_mutants_only_suggests_the_full_id(capsys):
    assert main(["mutants", "--only", "M13"]) == 2
    assert "--only M13: no mutant has this id; did you mean M13-fee-not-charged?" in capsys.readouterr().err


def test_a_non_utf8_schedule_file_is_a_usage_error_naming_the_file(tmp_path, capsys):
    schedule = tmp_path / "s.json"
    schedule.write_bytes(b'{"scenario": "\xff"}')
    assert f"{schedule}: not UTF-8 text (invalid start byte at byte 14)" in _usage_error(["replay", str(schedule)],
                                                                                         capsys)


@pytest.mark.parametrize(("hours", "message"), [("inf", "got inf"), ("1e9", "got 1000000000.0")])
def test_hours_out_of_the_spec_bounds_is_a_usage_error(hours, message, capsys):
    assert main(["run", "--hours", hours]) == 2
    err = capsys.readouterr().err
    assert "hours must be > 0 and <= 168" in err and message in err and "Traceback" not in err


def test_a_combination_the_spec_refuses_is_a_usage_error(monkeypatch, capsys):
    """Whatever ScenarioSpec refuses (its own checks, the kernel's declaration) exits 2, also when
    the refused spec is one of an exploration's plan (``--kernel both``)."""
    import sim.cli.options
    from sim.harness.spec import SpecError

    class Refusing(ScenarioSpec):
        def __post_init__(self) -> None:
            if (self.kernel, self.policy) == ("trio", "pct"):
                raise SpecError("policy 'pct' is not supported by this kernel")

    monkeypatch.setattr(sim.cli.options, "ScenarioSpec", Refusing)
    for argv in (["run", "--kernel", "trio", "--policy", "pct"], ["explore", "--kernel", "both", "--policy", "pct"]):
        assert main(argv) == 2
        assert "policy 'pct' is not supported by this kernel" in capsys.readouterr().err


def _report(capsys: pytest.CaptureFixture[str]) -> dict:
    report = json.loads(capsys.readouterr().out)
    return {k: v for k, v in report.items() if k not in ("wall_seconds", "seeds_per_second")}


def test_an_interrupted_exploration_resumes_to_the_same_report(tmp_path, capsys):
    argv = ["explore", "--seeds", "3", *QUICK, "--faults", "db_error_rate=0.6", "--no-shrink", "--json"]
    whole = tmp_path / "whole.jsonl"
    assert main([*argv, "--results", str(whole)]) == 1
    uninterrupted = _report(capsys)
    lines = whole.read_text().splitlines()
    assert len(lines) == 3 and {json.loads(line)["seed"] for line in lines} == {0, 1, 2}
    cut = tmp_path / "cut.jsonl"
    cut.write_text(lines[0] + "\n" + lines[1][:40])  # one run done, the next killed mid-write
    assert main([*argv, "--resume", str(cut)]) == 1
    assert _report(capsys) == uninterrupted
    resumed = [json.loads(line)["seed"] for line in cut.read_text().splitlines()]
    assert sorted(resumed) == [0, 1, 2], "the cut line dropped, the new runs appended to the resumed file"


def test_resuming_with_other_options_is_refused_naming_the_line(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    assert main(["explore", "--seeds", "1", *QUICK, "--json", "--results", str(results)]) == 0
    capsys.readouterr()
    err = _usage_error(["explore", "--seeds", "1", "--hours", "0.2", "--json", "--resume", str(results)], capsys)
    assert f"{results}:1: seed 0 (asyncio) was explored with other options" in err


def test_sigterm_stops_the_exploration_and_keeps_the_finished_runs(tmp_path, monkeypatch, capsys):
    """The signal arrives after the first run: it is reported and written, the rest are not run."""
    results = tmp_path / "r.jsonl"
    original = explore.run_one
    calls = []

    def run_then_signal(spec, recheck=False):
        calls.append(spec.seed)
        outcome = original(spec, recheck)
        os.kill(os.getpid(), signal.SIGTERM)
        return outcome

    monkeypatch.setattr(explore, "run_one", run_then_signal)
    code = main(["explore", "--seeds", "5", *QUICK, "--json", "--results", str(results)])
    assert code == 128 + signal.SIGTERM
    report = json.loads(capsys.readouterr().out)
    assert calls == [0] and report["runs"] == 1 and report["interrupted"] == "SIGTERM" and report["planned"] == 5
    assert len(results.read_text().splitlines()) == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "handlers restored"


def test_a_stop_request_ends_a_pool_of_workers_without_waiting_for_every_seed():
    specs = explore.plan(ScenarioSpec(hours=0.1), seeds=6, start=0, kernels=("asyncio",))
    stop = explore.StopRequest()
    result = explore.explore(specs, workers=2, recheck_every=0, stop=stop,
                             on_outcome=lambda outcome: stop.request("SIGINT"))
    assert result.interrupted == "SIGINT" and 1 <= len(result.outcomes) < 6


def test_junit_xml_for_explore_has_a_case_per_failing_seed_and_ranges_of_clean_ones(tmp_path, capsys):
    junit = tmp_path / "explore.xml"
    main(["explore", "--seeds", "3", *QUICK, "--faults", "db_error_rate=0.6", "--no-shrink", "--json",
          "--junit-xml", str(junit)])
    report = json.loads(capsys.readouterr().out)
    failing = {f["seed"] for f in report["failures"]}
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {f"seed {s} (asyncio)" for s in failing}
    for seed, failure in zip(sorted(failing), [failed[f"seed {s} (asyncio)"] for s in sorted(failing)], strict=True):
        assert f"replay: simwire run --mode backtest --seed {seed} " in failure.get("message")
    clean = [c.get("name") for c in cases if c.find("failure") is None]
    assert len(clean) + len(failed) == len(cases) and (clean or len(failing) == 3)


def test_progress_lines_off_a_terminal_at_most_once_per_interval():
    now = [0.0]
    out = io.StringIO()
    progress = ProgressLines(10, stream=out, interval=5.0, clock=lambda: now[0])
    for step in range(4):
        now[0] = 3.0 * (step + 1)  # 3, 6, 9, 12 s: lines at 6 and 12
        progress.update(failed=step == 1)
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == ["2/10 runs, 1 failing, 0.33 runs/s, ETA 24 s",
                     "4/10 runs, 1 failing, 0.33 runs/s, ETA 18 s",
                     "4/10 runs, 1 failing, 0.33 runs/s, ETA 18 s"]


def test_explore_prints_progress_on_stderr_when_it_is_not_a_terminal(capsys):
    assert main(["explore", "--seeds", "2", *QUICK, "--progress-every", "0.000001"]) == 0
    err = capsys.readouterr().err
    assert "1/2 runs, 0 failing" in err and "2/2 runs, 0 failing" in err


def test_the_run_summary_is_never_cut_and_has_no_trailing_padding(capsys):
    from sim.cli.report import console

    width = console.width
    console.width = 80
    try:
        assert main(["run", *QUICK]) == 0
    finally:
        console.width = width
    out = capsys.readouterr().out
    hash_line = next(line for line in out.splitlines() if line.startswith("trace hash"))
    assert len(hash_line.split()[-1]) == 64, "the whole sha256"
    assert all(line == line.rstrip() for line in out.splitlines())
    assert "market data" in out and "2025-01-06T00:05:59" in out


def test_replay_says_whether_the_trace_hash_matches_and_a_verdict_that_agrees(tmp_path, capsys):
    schedule = tmp_path / "s.json"
    assert main(["run", *QUICK, "--schedule-out", str(schedule)]) == 0
    capsys.readouterr()
    assert main(["replay", str(schedule)]) == 0
    out = capsys.readouterr().out
    assert "trace hash matches" in out and out.rstrip().endswith("verdict: reproduced, clean")
    data = json.loads(schedule.read_text())
    data["trace_hash"] = "0" * 64
    schedule.write_text(json.dumps(data))
    assert main(["replay", str(schedule)]) == 1
    out = capsys.readouterr().out
    assert "trace hash MISMATCH" in out and "clean" not in out
    assert out.rstrip().endswith("verdict: NOT reproduced (the replay took another path than the recorded run)")


def test_results_lines_rebuild_the_outcome():
    outcome = explore.run_one(ScenarioSpec(hours=0.1, faults="db_error_rate=0.6", seed=1))
    assert not outcome.clean
    rebuilt = explore.SeedOutcome.from_line(json.loads(json.dumps(outcome.to_line())))
    assert (rebuilt.spec, rebuilt.trace_hash, rebuilt.violations) == (outcome.spec, outcome.trace_hash,
                                                                      outcome.violations)


def test_a_path_is_not_written_when_the_parent_is_a_file(tmp_path, capsys):
    parent = tmp_path / "file"
    parent.write_text("")
    assert f"directory {parent} is not a directory" in _usage_error(["run", "--trace-out", str(parent / "t")],
                                                                      capsys)


def test_no_output_directory_is_needed_when_results_go_to_a_fresh_file(tmp_path: Path, capsys):
    results = tmp_path / "new.jsonl"
    assert main(["explore", "--seeds", "1", *QUICK, "--json", "--results", str(results)]) == 0
    assert json.loads(results.read_text())["seed"] == 0


def test_a_fault_duration_error_quotes_the_unit_typed(capsys):
    err = _usage_error(["run", "--faults", "db_latency_ms=20..5"], capsys)
    assert "'db_latency_ms=20..5': a duration needs 0 <= low <= high, got 20..5 ms" in err


@pytest.mark.parametrize(("text", "limit", "keep", "clipped"), [
    ("SELECT a_column, another_column FROM some_table", 30, "start", "SELECT a_column …"),
    ("Traceback\n  File x\nValueError: boom", 30, "end", "… File x\nValueError: boom"),
    ("short", 30, "start", "short"),
])
def test_a_seen_field_is_clipped_at_a_word_boundary(text, limit, keep, clipped):
    from simwire.violation import clip

    assert clip(text, limit, keep=keep) == clipped
    assert len(clipped) <= limit


def test_swarm_draws_the_fault_mix_from_the_seed_alone_and_the_repro_carries_it():
    from sim.harness.swarm import swarm_spec
    from sim.world.faults import FaultPlan

    live = [swarm_spec(ScenarioSpec(mode="live", policy="pct", seed=seed)) for seed in range(40)]
    assert live == [swarm_spec(ScenarioSpec(mode="live", policy="pct", seed=seed)) for seed in range(40)]
    mixes = {spec.faults for spec in live}
    assert len(mixes) > 30, "each seed its own mix"
    assert {spec.pct_depth for spec in live} == {1, 2, 3, 4, 5}
    for spec in live:
        FaultPlan.from_spec(spec.faults)  # a valid explicit plan
        if spec.faults != "none":
            assert f"--faults {spec.faults}" in spec.repro()
    sites = {item.split("_")[0] for spec in live for item in spec.faults.split(",") if "=" in item}
    assert sites == {"db", "exchange", "stream"}
    backtest = [swarm_spec(ScenarioSpec(seed=seed)) for seed in range(40)]
    assert all("exchange" not in s.faults and "stream" not in s.faults for s in backtest), "live-only sites"
    assert [s.faults.split(",")[0].startswith("db") for s in backtest if s.faults != "none"]


def test_explore_swarm_reports_each_seed_with_its_drawn_plan(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    assert main(["explore", "--swarm", "--seeds", "3", *QUICK, "--json", "--results", str(results)]) == 0
    from sim.harness.swarm import swarm_spec

    lines = [json.loads(line) for line in results.read_text().splitlines()]
    for line in lines:
        assert line["spec"]["faults"] == swarm_spec(ScenarioSpec(seed=line["seed"], policy="random")).faults


def test_exploration_coverage_counts_distinct_pairs_over_all_runs_and_survives_a_results_line():
    spec = ScenarioSpec(hours=0.1)
    outcomes = [explore.SeedOutcome(spec.__class__(hours=0.1, seed=seed), "h", (), 0.1, frozenset(cov))
                for seed, cov in enumerate([{1, 2}, {2}, {3}, set()])]
    exploration = explore.Exploration(outcomes=outcomes)
    assert exploration.coverage() == {"await_site_pairs": 3, "deliveries": 0, "runs_adding_coverage": 2,
                                      "at_quarters": [2, 2, 3], "deliveries_at_quarters": [0, 0, 0]}
    line = json.loads(json.dumps(outcomes[0].to_line()))
    assert explore.SeedOutcome.from_line(line).coverage == frozenset({1, 2})


def test_wiring_takes_the_registry_mode_names_and_refuses_others(capsys):
    assert main(["wiring", "--mode", "paper"]) == 0
    assert capsys.readouterr().out.startswith("%% simwire wiring, mode paper")
    err = _usage_error(["wiring", "--mode", "nope"], capsys)
    assert "'nope' is not a mode of the registry; choose one of backtest, paper, live" in err


@pytest.mark.parametrize(("source", "message"), [
    ("def broken(:\n", "SyntaxError at {path}:1"),
    ("import no_such_module_xyz\n", "ModuleNotFoundError: No module named 'no_such_module_xyz' (at {path}:1)"),
    ("REGISTRY = 1 / 0\n", "ZeroDivisionError: division by zero (at {path}:1)"),
])
@pytest.mark.parametrize("command", ["check", "wiring"])
def test_a_registry_file_that_does_not_import_is_a_usage_error_naming_the_file(command, source, message, tmp_path,
                                                                                capsys):
    path = tmp_path / "registry.py"
    path.write_text(source)
    assert main([command, "--registry", str(path)]) == 2
    err = capsys.readouterr().err
    assert message.format(path=path) in err and "Traceback" not in err


def test_a_non_utf8_migration_is_a_usage_error_naming_the_file_and_byte(tmp_path, capsys):
    (tmp_path / "001_init.sql").write_bytes(b"CREATE TABLE t (a INT);\n\xff")
    assert main(["check", "--migrations", str(tmp_path)]) == 2
    assert f"--migrations: {tmp_path / '001_init.sql'}: not UTF-8 text (invalid start byte at byte 24)" in \
        capsys.readouterr().err


def test_cluster_without_the_engine_installed_is_a_usage_error_with_the_install_command(monkeypatch, capsys):
    import sim.harness.explore_cluster

    monkeypatch.setattr(sim.harness.explore_cluster, "available", lambda: False)
    err = _usage_error(["explore", "--cluster", "local"], capsys)
    assert "--cluster needs Dask distributed, which is not installed: pip install 'simwire[cluster]'" in err


def test_a_tick_prints_a_line_while_a_long_run_is_going():
    """No run finishes between the ticks: the lines still come, once per interval."""
    now = [0.0]
    out = io.StringIO()
    progress = ProgressLines(4, stream=out, interval=10.0, clock=lambda: now[0])
    for moment in (4.0, 10.0, 15.0, 20.0):
        now[0] = moment
        progress.tick()
    assert out.getvalue().splitlines() == ["0/4 runs, 0 failing, 0.00 runs/s"] * 2
    with progress.ticking():  # the ticker thread starts and stops with the block
        pass


def test_steering_spends_half_the_budget_on_neighbours_of_runs_that_added_coverage():
    """A fake runner gives seed 0 and 1 new coverage: their neighbours (same seed, another
    fault plan) take half of the later rounds; the result does not depend on completion order."""
    from sim.harness.steer import neighbour, steered

    def fake_runner(todo, stopping):
        for spec, _ in reversed(todo):  # completion order must not matter
            coverage = frozenset({spec.seed}) if spec.seed < 2 and spec.faults == "none" else frozenset()
            yield explore.SeedOutcome(spec, "h", (), 0.0, coverage)

    specs = explore.plan(ScenarioSpec(hours=0.1), seeds=12, start=0, kernels=("asyncio",))
    result = steered(specs, runner=fake_runner, round_size=4, recheck_every=0)
    ran = [o.spec for o in result.outcomes]
    assert len(ran) == 12
    children = [s for s in ran if s.faults != "none" or s.pct_depth != 3]
    assert {(s.seed, s.kernel) for s in children} <= {(0, "asyncio"), (1, "asyncio")}
    assert children and all(s in {neighbour(specs[s.seed], i) for i in range(2)} for s in children)
    assert [o.spec for o in steered(specs, runner=fake_runner, round_size=4, recheck_every=0).outcomes] == ran


def test_steer_refuses_resume(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    results.write_text("")
    assert "--steer decides its runs as it goes" in _usage_error(["explore", "--steer", "--resume", str(results)],
                                                                 capsys)
