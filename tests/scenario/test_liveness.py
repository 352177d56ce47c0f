"""The liveness phase (sim/harness/liveness.py): faults off at the end of a paper or live
session, and a component that silently stopped working is a violation even when the final
resync repairs the end state."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import sim.kernel
from sim.harness.liveness import BOUND, LivenessPhase, wal_applied, watching
from sim.harness.scenario import ScenarioSpec, run_scenario
from system.sync.service import PositionSyncService


def _rules(spec: ScenarioSpec) -> list[str]:
    return sorted({v.rule for v in run_scenario(spec, trace=False).violations})


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_a_live_session_with_stream_drops_converges_clean(kernel: str) -> None:
    spec = ScenarioSpec(mode="live", seed=4, kernel=kernel, policy="random", hours=0.5,
                        faults="exchange-flaky,stream_error_rate=0.2")
    assert _rules(spec) == []


def test_a_sync_loop_that_stops_after_one_pass_is_a_task_that_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    async def one_pass(self: PositionSyncService) -> None:
        await self._clock.sleep(self.interval)
        await self.resync("periodic")

    monkeypatch.setattr(PositionSyncService, "_periodic", one_pass)
    assert "oracle.liveness-task-ended" in _rules(ScenarioSpec(mode="live", seed=1, hours=0.5))


def test_a_listener_that_returns_on_a_drop_is_caught_although_the_stop_repairs_the_book(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def listen_once(self: PositionSyncService) -> None:
        try:
            async for message in self._stream.messages():
                await self._dispatch(message)
        except ConnectionError:
            return  # the defect: no reconnect

    monkeypatch.setattr(PositionSyncService, "_listen", listen_once)
    rules = _rules(ScenarioSpec(mode="live", seed=4, hours=0.5, faults="stream_error_rate=0.2"))
    assert "oracle.liveness-task-ended" in rules
    assert "oracle.live-order-lost" not in rules  # the end state alone looks repaired


def test_no_phase_in_backtest_or_in_a_session_shorter_than_the_bound() -> None:
    parts: dict[str, Any] = {"injectors": (), "controller": None, "session_ids": (), "clock": None}
    assert LivenessPhase.for_run(mode="backtest", last_tick=7199.0, tick_seconds=1.0, **parts) is None
    assert LivenessPhase.for_run(mode="paper", last_tick=BOUND / 2, tick_seconds=1.0, **parts) is None
    phase = LivenessPhase.for_run(mode="live", last_tick=7199.0, tick_seconds=1.0, **parts)
    assert phase is not None and phase.check_at < 7199.0


def test_a_wal_that_does_not_apply_within_its_bound_is_a_violation() -> None:
    class StuckWal:
        async def wait_for_wal(self) -> None:
            await anyio.sleep(3600)

    class AppliedWal:
        async def wait_for_wal(self) -> None:
            await anyio.sleep(0.1)

    async def main() -> tuple[list[str], list[str]]:
        async with watching(None):
            pass
        stuck = [v.rule for v in await wal_applied(StuckWal())]
        return stuck, [v.rule for v in await wal_applied(AppliedWal())]

    result = sim.kernel.run(main, seed=0)
    result.raise_for_error()
    assert result.value == (["oracle.liveness-wal"], [])


def test_a_live_order_the_exchange_still_fills_is_not_stuck() -> None:
    from sim.harness.liveness import _still_filling

    exchange = {"a": {"state": 2}, "b": {"state": 4}}
    assert _still_filling(exchange, "a")
    assert not _still_filling(exchange, "b") and not _still_filling(exchange, "c")
    assert not _still_filling(None, "a")  # paper: no exchange, a working order fills on the next tick
