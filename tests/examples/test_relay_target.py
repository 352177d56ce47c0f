"""examples/relay driven as a simwire target (examples/relay/target.py) on the simulated PostgreSQL:
the shipped relay, not one line of it changed, reports its planted run-time defects; with them
fixed (its catalogue's baseline) it explores clean over 200 seeds, and its mutation catalogue is
all detected with a clean control."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main as simwire
from sim.harness import mutants

ROOT = Path(__file__).resolve().parents[2]
RELAY = "examples.relay.target:TARGET"
CATALOGUE = ROOT / "examples" / "relay" / "catalogue"


def test_the_shipped_relay_reports_its_planted_runtime_defects(capsys: pytest.CaptureFixture[str]) -> None:
    code = simwire(["run", "--target", RELAY, "--mode", "live", "--hours", "0.05", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    by_rule = {v["rule"]: v for v in report["violations"]}
    # save_delivery(...) without await: the kernel names the line, and no delivery is archived
    assert "examples/relay/relay/router.py:21" in by_rule["kernel.unawaited"]["location"]
    assert "Store.save_delivery()" in by_rule["kernel.unawaited"]["message"]
    assert any(v["rule"] == "oracle.not-persisted" and "deliveries routed" in v["message"]
               for v in report["violations"])
    assert report["rows"]["deliveries"] == 0
    # routed["priority"]: the Notifier raises on every routed message
    assert by_rule["contract.handler-error"]["message"].startswith("handler Notifier:notify raised KeyError")
    assert "'priority'" in by_rule["contract.handler-error"]["message"]
    assert "Notifier:notify raised KeyError" in by_rule["oracle.handler-error"]["message"]
    assert report["sent"] == 0


def test_the_target_refuses_what_it_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert simwire(["run", "--target", RELAY, "--hours", "0.01"]) == 2  # backtest: relay is live-only
    assert "runs mode(s) live" in capsys.readouterr().err
    assert simwire(["run", "--target", RELAY, "--mode", "live", "--kernel", "trio", "--hours", "0.01"]) == 2
    assert "runs under --kernel asyncio only, not 'trio'" in capsys.readouterr().err


def _fixed_copy(tmp_path: Path) -> dict[str, str]:
    """relay with the catalogue's baseline (its planted run-time defects fixed), first on the path."""
    catalogue = mutants.load_catalogue(CATALOGUE)
    mutants.copy_code(ROOT, catalogue.code, tmp_path, catalogue.baseline)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), str(ROOT),
                                                                   os.environ.get("PYTHONPATH")])))


def test_the_fixed_relay_runs_clean_and_archives_routes_and_sends_everything(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "--target", RELAY, "--mode", "live", "--hours", "0.05",
                           "--json"], cwd=tmp_path, env=_fixed_copy(tmp_path), capture_output=True, text=True,
                          check=False, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, report["violations"]
    assert report["webhooks"] == report["events"]["message.received"] == report["rows"]["messages"] > 5
    assert report["events"]["message.routed"] == report["rows"]["deliveries"] == report["sent"] > 5
    assert report["failures"] == 0


def test_the_fixed_relay_explored_over_200_seeds_is_clean(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "explore", "--target", RELAY, "--mode", "live",
                           "--hours", "0.02", "--seeds", "200", "--policy", "random", "--json"],
                          cwd=tmp_path, env=_fixed_copy(tmp_path), capture_output=True, text=True, check=False,
                          timeout=300)
    report = json.loads(proc.stdout)
    assert report["runs"] == 200 and report["clean"], report
    assert report["failures"] == [], report["failures"][:2]
    assert proc.returncode == 0


def test_relay_catalogue_is_all_detected_and_the_control_is_clean() -> None:
    catalogue = mutants.load_catalogue(CATALOGUE)
    assert len(catalogue.mutants) == 5 and len(catalogue.baseline) == 2
    results = mutants.run_catalogue(catalogue, ROOT, workers=2)
    assert {r.id: r.status for r in results} == {m.id: "detected" for m in catalogue.mutants}
    control = mutants.run_control(catalogue, ROOT)
    assert control.clean, control.to_json()


def test_a_baseline_that_no_longer_applies_fails_the_control(tmp_path: Path) -> None:
    for source in CATALOGUE.glob("*.toml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "catalogue.toml":
            text = text.replace('find = "            self.store.save_delivery("', 'find = "self.store.gone("')
        (tmp_path / source.name).write_text(text, encoding="utf-8")
    catalogue = mutants.load_catalogue(tmp_path)
    control = mutants.run_control(catalogue, ROOT)
    assert not control.clean
    assert control.errors[0].startswith("baseline: examples/relay/relay/router.py: expected the text to change")
    result = mutants.evaluate(catalogue.mutants[0], catalogue, ROOT)
    assert result.status == "stale" and result.detail.startswith("baseline: ")
