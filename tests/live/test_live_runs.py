"""Live sessions end to end against the simulated exchange: clean on both kernels, every fault
kind met and survived, no order lost or doubled across 200 seeds, no secret written anywhere."""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from sim.harness.scenario import ScenarioSpec, run_scenario
from sim.world.exchange import SIM_CREDENTIALS

SEEDS = 200
FAULT_KINDS = ("5xx", "510", "reject", "timeout", "stream_drops")


def faulted_run(seed: int, hours: float = 0.25) -> tuple[int, list[str], dict[str, int]]:
    """One live session with ``exchange-flaky``: (orders, violated rules, faults injected)."""
    logging.disable(logging.WARNING)  # faults make the system warn on every retry: expected here
    # the runtime monitor is left to the other tests: these seeds are about the books, and it
    # costs a third of the time
    spec = ScenarioSpec(mode="live", seed=seed, faults="exchange-flaky", hours=hours, monitor=False,
                        policy="random" if seed % 2 else "fifo", kernel="trio" if seed % 3 == 0 else "asyncio")
    result = run_scenario(spec, trace=False)
    rules = [v.rule for v in result.violations]
    if result.kernel_result.error is not None:
        rules.append(f"crash: {result.kernel_result.error!r}")
    return result.summary["orders"], rules, result.record.facts["exchange"]["faults"]


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_a_live_session_trades_cleanly(kernel: str) -> None:
    result = run_scenario(ScenarioSpec(mode="live", seed=5, kernel=kernel, hours=0.5))
    assert result.violations == []
    assert result.summary["orders"] > 0 and result.summary["fills"] == result.summary["orders"]
    assert result.summary["sessions"][0]["state"] == "STOPPED"


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_a_fill_delivered_as_the_session_stops_is_persisted(kernel: str) -> None:
    """Found by ``simwire explore --mode live --start 250``: at seed 533 a fill pushed in the last
    second was being recorded when the stop cancelled the push stream's task, and its position
    never reached the database (oracle.not-persisted, positions-mismatch)."""
    result = run_scenario(ScenarioSpec(mode="live", seed=533, kernel=kernel, policy="random"), trace=False)
    assert result.violations == []
    assert result.summary["rows"]["positions"] == result.summary["positions_opened"] == 8


def test_the_same_seed_gives_the_same_live_trace() -> None:
    spec = ScenarioSpec(mode="live", seed=3, faults="exchange-flaky", hours=0.25, policy="random")
    assert len({run_scenario(spec, trace=False).trace_hash for _ in range(3)}) == 1


def test_no_order_is_lost_or_doubled_across_200_faulted_seeds() -> None:
    with ProcessPoolExecutor(2) as pool:
        outcomes = list(pool.map(faulted_run, range(SEEDS), chunksize=10))
    failing = {seed: rules for seed, (_, rules, _) in enumerate(outcomes) if rules}
    assert failing == {}
    assert sum(orders for orders, _, _ in outcomes) > SEEDS  # the seeds did trade
    injected: Counter[str] = Counter()
    for _, _, faults in outcomes:
        injected.update(faults)
    assert all(injected[kind] > 0 for kind in FAULT_KINDS), injected


def test_secrets_reach_no_event_row_or_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = run_scenario(ScenarioSpec(mode="live", seed=1, faults="exchange-flaky", hours=0.5))
    assert result.violations == []  # oracle.secret-leaked looked at every event and row
    text = caplog.text
    assert any(line in text for line in ("live.submit_retry", "sync.positions_unavailable", "sync.reconnect"))
    for secret in (SIM_CREDENTIALS.access_key, SIM_CREDENTIALS.secret_key):
        assert secret not in text
        assert secret not in repr(result.tables) and secret not in repr(SIM_CREDENTIALS)


def test_the_secret_oracle_sees_a_leak() -> None:
    from sim.harness import oracles

    facts = oracles.RunFacts([], _recorder_with({"metadata": {"key": SIM_CREDENTIALS.secret_key}}), {},
                             extra={"exchange": {"secrets": (SIM_CREDENTIALS.access_key, SIM_CREDENTIALS.secret_key),
                                                 "orders": [], "positions": {}}})
    assert [v.rule for v in oracles.no_secret_leaked(facts)] == ["oracle.secret-leaked"]


def _recorder_with(payload: dict[str, Any]) -> Any:
    from sim.harness.recorder import EventRecorder

    recorder = EventRecorder()
    recorder.on_publish("order_created", payload, ())
    return recorder
