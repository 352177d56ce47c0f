"""The simwire CLI's contract: usage errors exit 2 with a message; --json shapes."""

from __future__ import annotations

import json

import pytest

from sim.cli import main

REQUIRED_RUN_KEYS = {"seed", "kernel", "policy", "mode", "trace_hash", "virtual_seconds", "wall_seconds",
                     "ticks", "signals", "orders", "fills", "positions_opened", "positions_closed", "rows",
                     "violations"}


@pytest.mark.parametrize("argv", [
    ["run", "--mode", "nope"],
    ["run", "--kernel", "curio"],
    ["run", "--hours", "-1"],
    ["run", "--seed", "x"],
    ["run", "--symbols", ","],
    ["run", "--faults", "no-such-plan"],
    ["run", "--faults", "db_error_rate=2"],
    ["explore", "--faults", "dbx_lag_ms=5"],
    ["explore", "--seeds", "0"],
    ["explore", "--workers", "zero"],
    ["frobnicate"],
])
def test_usage_errors_exit_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_unknown_fault_plan_lists_the_presets(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--faults", "no-such-plan"])
    err = capsys.readouterr().err
    assert "db-flaky" in err and "db-lag" in err


def test_a_custom_fault_plan_runs_and_its_repro_carries_it(capsys):
    spec = "db-lag,db_error_rate=0.2,db_ack_loss_rate=0.05"
    assert main(["run", "--hours", "0.5", "--seed", "2", "--faults", spec, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["faults"] == spec and report["violations"] == []
    assert f"--faults {spec}" in report["repro"]
    assert report["rows"]["strategy_signals"] == report["signals"] > 0, "transient errors lost no rows"


@pytest.mark.parametrize("command", ["run", "explore", "mutants", "check", "wiring", "determinism", "replay",
                                     "shrink"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: simwire" in capsys.readouterr().out


def test_run_json_has_the_documented_keys(capsys):
    assert main(["run", "--hours", "0.5", "--seed", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= REQUIRED_RUN_KEYS
    assert report["violations"] == [] and report["ticks"] == 3 * 1800


def test_explore_json_reports_runs_and_rate(capsys):
    assert main(["explore", "--seeds", "2", "--hours", "0.5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 2 and report["failures"] == [] and report["seeds_per_second"] > 0
