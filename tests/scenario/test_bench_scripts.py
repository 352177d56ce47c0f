"""The full-system benchmarks still run and measure what they claim (their figures are never asserted).

Each script runs on a short backtest in a subprocess, as a user would run it from the
repository root; the checks are on the shape of the report and on the run having traded, not
on any timing.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str) -> dict:
    command = [sys.executable, f"bench/{script}", *args, "--json"]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


def test_ceiling_measures_every_stage_and_the_last_one_trades():
    report = run_bench("ceiling.py", "--hours", "0.5", "--repeat", "1", "--whole")
    whole = ["whole default run", "  its session", "whole default run, harness off", "  its session, harness off"]
    assert list(report) == ["bus only", "+ indicator engine", "+ strategy manager",
                            "+ order manager and persistence", *whole]
    assert all(row["ticks_per_s"] > 0 and row["us_per_tick"] > 0 for row in report.values())
    assert report["+ order manager and persistence"]["orders"] > 0
    assert all(row["orders"] == 0 for name, row in report.items() if name != "+ order manager and persistence")
    full = report["+ order manager and persistence"]["ticks_per_s"]
    for name in whole:  # each whole-run figure is its ticks per second over the full stage's
        assert report[name]["of_full_stage"] == pytest.approx(report[name]["ticks_per_s"] / full, abs=1e-3)


def test_pipeline_reports_every_configuration_against_stock_asyncio():
    report = run_bench("pipeline.py", "--hours", "0.25", "--repeat", "1", "--memory-hours", "0")
    configurations = [name for name, row in report.items() if isinstance(row, dict)]
    assert "stock asyncio (monitor on)" in configurations
    assert {"asyncio kernel fifo", "asyncio kernel random", "trio kernel random"} <= set(configurations)
    for name in configurations:
        assert report[name]["ticks_per_s"] > 0 and report[name]["session_ticks_per_s"] > 0, name
    assert report["stock asyncio (monitor on)"]["vs_stock"] == 1.0
    assert isinstance(report["monitor_cost_fraction"], float)  # its sign is machine noise on a short run
    assert "peak_rss_mb" not in report


def test_ceiling_rejects_bad_arguments():
    completed = subprocess.run([sys.executable, "bench/ceiling.py", "--repeat", "0"], cwd=REPO,
                               capture_output=True, text=True)
    assert completed.returncode == 2
    assert "--repeat" in completed.stderr
