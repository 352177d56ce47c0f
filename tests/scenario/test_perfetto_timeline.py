"""`simwire run --perfetto-out`: a backtest laid out on its data's time, paper on the virtual clock."""

import json

from sim.cli import main


def _instants(path) -> list[float]:
    events = json.loads(path.read_text())["traceEvents"]
    return [event["ts"] for event in events if event["ph"] == "i"]


def test_a_backtest_timeline_spans_its_data_in_order(tmp_path) -> None:
    out = tmp_path / "backtest.json"
    main(["run", "--mode", "backtest", "--hours", "1", "--perfetto-out", str(out)])
    times = _instants(out)
    assert times == sorted(times)
    assert (times[-1] - times[0]) / 1e6 > 1800  # an hour of ticks, not one instant at t=0
    assert times[0] > 0  # epoch microseconds of the data, not the standing virtual clock


def test_a_paper_timeline_keeps_the_virtual_clock(tmp_path) -> None:
    out = tmp_path / "paper.json"
    main(["run", "--mode", "paper", "--hours", "1", "--perfetto-out", str(out)])
    times = _instants(out)
    assert times == sorted(times) and times[0] == 0.0 and times[-1] > 0


def test_a_lean_runs_timeline_is_noted_by_the_replay_that_recovers_its_trace() -> None:
    from sim.harness.scenario import ScenarioSpec, run_scenario
    from sim.harness.timeline import chrome_trace

    result = run_scenario(ScenarioSpec(hours=0.25))  # lean by default: no steps, no marks while it ran
    assert not result.record.recorder.data_timeline.marks
    times = [event["ts"] for event in chrome_trace(result)["traceEvents"] if event["ph"] == "i"]
    assert times == sorted(times) and (times[-1] - times[0]) / 1e6 > 600  # a quarter hour of data
