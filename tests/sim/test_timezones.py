"""Time zones in the determinism checks (sim/harness/timezones.py): ``simwire determinism`` and
explore's recheck vary TZ and compare what a run produced, and the static scan flags local-time
conversions."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

import system.data.historical
from contracts.scanner import scan
from sim.harness.determinism import check_determinism
from sim.harness.explore import run_one
from sim.harness.scenario import ScenarioSpec
from sim.harness.timezones import ALTERNATE_TZ, local_timezone


def test_local_timezone_switches_and_restores_the_zone() -> None:
    with local_timezone("UTC"):
        assert time.localtime(0).tm_hour == 0
        with local_timezone(ALTERNATE_TZ):
            assert (time.localtime(0).tm_hour, time.localtime(0).tm_min) == (5, 30)
        assert time.localtime(0).tm_hour == 0


def test_determinism_runs_a_subprocess_in_another_time_zone() -> None:
    report = check_determinism("tests.sim.tz_targets:local_time_program", policy="fifo")
    assert not report.identical
    assert report.between is not None and report.between[1].startswith("subprocess TZ=")
    clean = check_determinism("tests.sim.tz_targets:utc_program", policy="fifo")
    assert clean.identical and any(label.startswith("subprocess TZ=") for label in clean.hashes), clean.render()


def test_explore_recheck_catches_market_data_read_in_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ScenarioSpec(mode="backtest", seed=3, hours=0.25)
    with local_timezone("UTC"):
        assert run_one(spec, recheck=True).clean
        monkeypatch.setattr(system.data.historical, "from_db_timestamp", lambda value: value.timestamp())
        outcome = run_one(spec, recheck=True)
    assert "kernel.nondeterminism" in [v.rule for v in outcome.violations]


def _scan(tmp_path: Path, **files: str) -> list[str]:
    for name, source in files.items():
        path = tmp_path / (name.replace("__", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return [v.seen for v in scan(tmp_path).violations if v.rule == "static.nondeterminism-source"]


def test_the_scan_flags_conversions_through_the_host_time_zone(tmp_path: Path) -> None:
    seen = _scan(
        tmp_path,
        pkg__component="""
            import time
            from datetime import UTC, datetime

            def convert(t, aware):
                naive = datetime.fromtimestamp(t)
                zoned = datetime.fromtimestamp(t, UTC)
                keyword = datetime.fromtimestamp(t, tz=UTC)
                seconds = time.mktime(naive.timetuple())
                return aware.astimezone(), aware.astimezone(UTC), zoned, keyword, seconds
            """,
        pkg__adapters__clock="""
            from datetime import UTC, datetime

            class Clock:
                def now(self):
                    return datetime.now(UTC)

                def local(self):
                    return datetime.now()
            """,
    )
    assert sorted(seen) == sorted(["datetime.fromtimestamp(t)", "time.mktime(naive.timetuple())",
                                   "aware.astimezone()", "datetime.now()"])
