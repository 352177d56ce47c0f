"""examples/signalbot driven as a simwire target (examples/signalbot/target.py): the shipped bot, not
one line of it changed, runs clean, explores clean over 200 seeds, and its mutation catalogue is
all detected with a clean control."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main as simwire
from sim.harness import mutants
from sim.harness.explore import explore, plan
from sim.harness.spec import ScenarioSpec

ROOT = Path(__file__).resolve().parents[2]
SIGNALBOT = "examples.signalbot.target:TARGET"
SYMBOLS = ("BTC_USDT", "ETH_USDT")


def test_the_shipped_bot_runs_clean_through_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    code = simwire(["run", "--target", SIGNALBOT, "--mode", "live", "--hours", "0.05",
                    "--symbols", ",".join(SYMBOLS), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["violations"]
    assert report["violations"] == []
    # the feed ran for the whole session, one poll per second per symbol; nothing reached the
    # order path (the engine listens on `price_update`, planted defect 1)
    assert report["events"] == {"price_updated": 360}
    assert report["polls"] == 360 and report["exchange_orders"] == 0
    assert report["rows"] == {"prices": 0, "signals": 0, "orders": 0}


def test_the_target_refuses_what_it_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert simwire(["run", "--target", SIGNALBOT, "--hours", "0.01"]) == 2  # backtest: a live-only bot
    assert "runs mode(s) live" in capsys.readouterr().err


def test_signalbot_explored_over_200_seeds_is_clean() -> None:
    specs = plan(ScenarioSpec(target=SIGNALBOT, mode="live", policy="random", hours=0.01, symbols=SYMBOLS),
                 seeds=200, start=0, kernels=("asyncio",))
    exploration = explore(specs, recheck_every=50)
    assert len(exploration.outcomes) == 200
    assert exploration.failures == [], exploration.to_json()["failures"][:2]


def test_signalbot_catalogue_is_all_detected_and_the_control_is_clean() -> None:
    catalogue = mutants.load_catalogue(ROOT / "examples" / "signalbot" / "catalogue")
    assert len(catalogue.mutants) == 3
    results = mutants.run_catalogue(catalogue, ROOT, workers=2)
    assert {r.id: r.status for r in results} == {m.id: "detected" for m in catalogue.mutants}
    control = mutants.run_control(catalogue, ROOT)
    assert control.clean, control.to_json()
