"""Behaviour snapshots: a fixed seed's events and final tables per mode, committed as text.

A change of strategy semantics, fees or sequencing shows here as a diff in review; accept an
intended one with ``pytest tests/scenario/test_behaviour_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.harness import snapshot
from sim.harness.scenario import ScenarioSpec, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SEED = 3
HOURS = {"backtest": 1.0, "paper": 1.0, "live": 0.5}


@pytest.mark.parametrize("mode", ["backtest", "paper", "live"])
def test_behaviour_of_a_fixed_seed_is_unchanged(mode, snapshot_ambr):
    result = run_scenario(ScenarioSpec(mode=mode, seed=SEED, hours=HOURS[mode]))
    assert result.clean, [v.rule for v in result.violations]
    text = snapshot.of_result(result)
    assert "order_filled" in text, "the pinned seed must trade, or the snapshot pins nothing"
    assert text == snapshot_ambr


@pytest.fixture
def snapshot_ambr(snapshot):
    """syrupy's snapshot fixture (named apart from the module under test)."""
    return snapshot


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", "run", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, check=False)


def test_the_snapshot_does_not_depend_on_timezone_or_hash_seed(tmp_path):
    first, second = tmp_path / "utc.txt", tmp_path / "kolkata.txt"
    args = ["--mode", "backtest", "--seed", str(SEED), "--hours", "0.5"]
    assert _run(*args, "--write-snapshot", str(first), env={"TZ": "UTC", "PYTHONHASHSEED": "0"}).returncode == 0
    assert _run(*args, "--write-snapshot", str(second),
                env={"TZ": "Asia/Kolkata", "PYTHONHASHSEED": "12345"}).returncode == 0
    assert first.read_text() == second.read_text()


def test_expect_snapshot_passes_on_the_same_behaviour_and_fails_with_a_diff_on_another(tmp_path):
    pinned = tmp_path / "pinned.txt"
    assert _run("--seed", "1", "--hours", "0.25", "--write-snapshot", str(pinned)).returncode == 0
    same = _run("--seed", "1", "--hours", "0.25", "--expect-snapshot", str(pinned), "--json")
    assert same.returncode == 0
    assert json.loads(same.stdout)["snapshot"] == {"file": str(pinned), "matches": True, "diff": []}
    other = _run("--seed", "2", "--hours", "0.25", "--expect-snapshot", str(pinned))
    assert other.returncode == 1
    assert "behaviour snapshot DIFFERS" in other.stdout and "\n  +" in other.stdout


@pytest.mark.parametrize("content, message", [(None, "cannot read it"), ("not a snapshot\n", "not a simwire")])
def test_an_unusable_expected_snapshot_is_a_usage_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "expected.txt"
    if content is not None:
        path.write_text(content)
    proc = _run("--hours", "0.1", "--expect-snapshot", str(path))
    assert proc.returncode == 2
    assert str(path) in proc.stderr and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_render_is_compact_and_names_every_scalar_field():
    text = snapshot.render(ScenarioSpec(seed=4), [
        ("order_filled", {"order_id": "o1", "filled_price": 1 / 3, "timestamp": 1736121600.5, "metadata": {"a": 1}}),
        ("market.price_update", {"price": 1.0, "timestamp": 1.0}),
    ], {"orders": [{"order_id": "o1", "config": "x" * 100, "filled_price": None}]})
    lines = text.splitlines()
    assert lines[0] == f"{snapshot.HEADER} of: {ScenarioSpec(seed=4).repro()}"
    assert lines[2] == "2025-01-06T00:00:00.5 order_filled filled_price=0.3333333333 order_id=o1"
    assert "market.price_update" not in text
    assert lines[-2] == "orders (1 rows): config | filled_price | order_id"
    assert lines[-1].startswith("  #") and lines[-1].endswith(" | - | o1")


def test_a_snapshot_file_is_regenerated_by_the_command_in_its_header(tmp_path):
    path = tmp_path / "pinned.txt"
    assert _run("--seed", "1", "--hours", "0.25", "--write-snapshot", str(path)).returncode == 0
    assert snapshot.command_of(path) == ["--mode", "backtest", "--seed", "1", "--kernel", "asyncio",
                                         "--policy", "fifo", "--hours", "0.25"]
    pinned = path.read_text()
    path.write_text(pinned.replace("order_filled", "order_fi11ed"))
    assert snapshot.update([path]) == 1
    assert path.read_text() == pinned
