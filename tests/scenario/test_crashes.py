"""Crash and restart (fault site ``process``, preset ``crash``): the process dies mid-work, a fresh
system recovers from the tables and the exchange, and the oracles judge across the crash."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest

import sim.kernel
from sim.harness.crashes import MAX_CRASHES, CrashSchedule, CrashTrigger
from sim.harness.scenario import ScenarioSpec, run_scenario
from sim.world.crash import KillSwitch, ProcessKilled, Severed
from sim.world.faults import FaultPlan, Span


def _run(**spec: object):
    return run_scenario(ScenarioSpec(faults="crash", **spec))


# -- the severed ports -------------------------------------------------------------------------


class _Port:
    def __init__(self) -> None:
        self.done: list[str] = []

    async def write(self, what: str) -> str:
        await anyio.sleep(1)
        self.done.append(what)
        return what

    async def items(self):
        for item in ("a", "b", "c"):
            yield item

    def now(self) -> int:
        return 7


def test_a_severed_port_works_until_the_kill_then_raises_and_a_call_in_flight_loses_its_reply() -> None:
    port, switch = _Port(), KillSwitch(0)
    severed = Severed(port, switch)

    async def main() -> list[str]:
        seen = [await severed.write("before")]
        async with anyio.create_task_group() as group:
            async def in_flight() -> None:
                with pytest.raises(ProcessKilled):
                    await severed.write("in flight")  # takes effect, its reply is lost with the process
            group.start_soon(in_flight)
            await anyio.sleep(0.5)
            switch.kill()
        with pytest.raises(ProcessKilled):
            await severed.write("after")  # never reaches the port
        seen.append(str(severed.now()))  # sync calls still answer (a dying task may read the clock)
        return seen

    result = sim.kernel.run(main, seed=0)
    assert result.error is None, result.error
    assert result.value == ["before", "7"]
    assert port.done == ["before", "in flight"]


def test_a_severed_generator_stops_at_the_kill() -> None:
    switch = KillSwitch(0)
    severed = Severed(_Port(), switch)

    async def main() -> list[str]:
        got = []
        with pytest.raises(ProcessKilled):
            async for item in severed.items():
                got.append(item)
                if item == "b":
                    switch.kill()
        return got

    assert sim.kernel.run(main, seed=0).value == ["a", "b"]


def test_process_killed_is_not_an_exception_a_retry_loop_could_swallow() -> None:
    assert not issubclass(ProcessKilled, Exception)


# -- when crashes happen -----------------------------------------------------------------------


def _schedule(spec: str, seed: int = 1) -> CrashSchedule:
    return CrashSchedule(FaultPlan.from_spec(spec).injector("process", seed))


def test_crash_moments_are_seeded_bounded_and_never_after_the_window() -> None:
    draws = [[_schedule("crash", seed).next_crash(after=0.0, window_end=1e9) for _ in range(3)] for seed in (1, 1, 2)]
    assert draws[0] == draws[1] != draws[2]
    assert _schedule("crash").next_crash(after=0.0, window_end=1e-9) is None
    schedule = _schedule("process_crash_rate=1")
    for _ in range(MAX_CRASHES):
        assert schedule.next_crash(after=0.0, window_end=1e9) is not None
        schedule.downtime()
    assert schedule.next_crash(after=0.0, window_end=1e9) is None
    assert _schedule("none").next_crash(after=0.0, window_end=1e9) is None


def test_the_process_site_parses_and_refuses_bad_knobs() -> None:
    plan = FaultPlan.from_spec("process_crash_rate=0.5,process_downtime_ms=5..10")
    assert plan.site("process").crash_rate == 0.5 and plan.site("process").downtime == Span(0.005, 0.010)
    assert "process: crash_rate=0.5 downtime=5..10ms" in plan.describe()
    with pytest.raises(ValueError, match=r"crash_rate must be within 0\.\.1"):
        FaultPlan.from_spec("process_crash_rate=2")


def test_a_due_crash_waits_for_work_then_strikes_a_few_publishes_later() -> None:
    switch = KillSwitch(0)
    trigger = CrashTrigger(switch, moment=10.0, then=1, work=lambda topic, payload: topic == "order_created")
    tick = {"timestamp": 10.0}
    trigger.on_publish("market.price_update", {"timestamp": 9.0}, ())
    trigger.on_publish("order_created", {}, ())
    assert not switch.killed  # work before the moment is not a crash point
    trigger.on_publish("market.price_update", tick, ())
    trigger.on_publish("indicator.updated", {}, ())
    assert not switch.killed
    trigger.on_publish("order_created", {}, ())
    assert not switch.killed  # then=1: one more publish first
    trigger.on_publish("position_opened", {}, ())
    assert switch.killed and trigger.last_tick == 10.0


# -- whole runs --------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_a_live_session_that_crashes_recovers_clean(kernel: str) -> None:
    result = _run(mode="live", seed=2, hours=0.5, kernel=kernel)
    assert result.violations == [], [v.to_json() for v in result.violations]
    assert result.summary["crashes"] >= 1
    assert [row["status"] for row in result.tables["sessions"]] == ["STOPPED"]
    assert result.summary["sessions"] == [{"session_id": "session_000001", "state": "STOPPED"}]
    assert result.summary["fills"] > 0


def test_a_crashed_paper_session_is_resumed_and_a_crashed_backtest_closed_and_run_again() -> None:
    paper = _run(mode="paper", seed=3, hours=1.0)
    assert paper.violations == [] and paper.summary["crashes"] >= 1
    assert [row["status"] for row in paper.tables["sessions"]] == ["STOPPED"]
    backtest = _run(mode="backtest", seed=3, hours=1.0)
    assert backtest.violations == [] and backtest.summary["crashes"] >= 1
    statuses = sorted(row["status"] for row in backtest.tables["sessions"])
    assert statuses == ["INTERRUPTED"] * backtest.summary["crashes"] + ["STOPPED"]


def test_a_crash_run_replays_to_the_same_trace() -> None:
    first, second = (_run(mode="live", seed=5, hours=0.5) for _ in range(2))
    assert first.trace_hash == second.trace_hash
    assert first.record.facts["crash_times"] == second.record.facts["crash_times"] != []


def test_without_crash_faults_nothing_restarts() -> None:
    result = run_scenario(ScenarioSpec(mode="live", seed=2, hours=0.5))
    assert result.summary["crashes"] == 0 and result.record.facts["crash_times"] == []


def test_a_recovery_that_leaves_sessions_open_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from system.controllers.unified import UnifiedTradingController

    async def forget(self: UnifiedTradingController, **_: object) -> list[str]:
        return []  # the restarted system never looks at the sessions it left behind

    monkeypatch.setattr(UnifiedTradingController, "recover", forget)
    rules = {v.rule for v in _run(mode="backtest", seed=3, hours=1.0).violations}
    assert "oracle.session-left-running" in rules


def test_crash_faults_and_sequential_sessions_are_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--sessions", "2", "--sequential", "--faults",
                           "crash"], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "--sequential" in done.stderr and "crash" in done.stderr


def test_after_a_restart_an_entity_may_make_its_last_state_again_and_leave_the_state_the_record_kept() -> None:
    from contracts.invariants import InvariantOracle
    from contracts.registry.trading import REGISTRY

    def rules(restart: bool) -> list[str]:
        oracle = InvariantOracle(REGISTRY, None)
        order = {"session_id": "s", "order_id": "o", "status": "FILLED"}
        session = {"session_id": "s", "mode": "live", "timestamp": 1.0}
        found = oracle.on_publish("order_created", {**order, "status": "NEW"})
        found += oracle.on_publish("order_filled", order)
        for old, new in (("IDLE", "STARTING"), ("STARTING", "RUNNING"), ("RUNNING", "STOPPING")):
            found += oracle.on_publish("session.state_changed", {**session, "old_state": old, "new_state": new})
        if restart:
            oracle.on_restart()
        found += oracle.on_publish("order_filled", order)  # its row's update died with the process
        found += oracle.on_publish("session.state_changed", {**session, "old_state": "RUNNING",  # the row's state
                                                             "new_state": "RECOVERING"})
        found += oracle.on_publish("order_filled", order)  # but only once
        return [key[0] for key, _ in found]

    assert rules(restart=True) == ["contract.state-transition"]
    assert rules(restart=False).count("contract.state-transition") == 3


def test_a_target_without_a_restart_loop_refuses_crash_faults_instead_of_ignoring_them() -> None:
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--target", "examples.tally.target:TARGET",
                           "--symbols", "M1", "--hours", "0.1", "--faults", "crash"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "cannot be killed and restarted" in done.stderr
