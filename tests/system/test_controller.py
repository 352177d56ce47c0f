"""Sessions end to end: the state machine, the order manager of the mode (seed defect 1),
awaited transitions (defect 4), failure handling and isolation of concurrent sessions.

Full sessions run under the deterministic kernels (``sim.kernel.run``) on the simulated
QuestDB, so paper sessions can wait for ``spec.end`` on a virtual clock without sleeping.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

import sim.kernel
from sim.world.ports import SeededIds, SeededRandom, VirtualClock
from sim.world.questdb import SimQuestDB
from system import topics
from system.bus import Subscription
from system.config import RetryPolicy, SystemConfig
from system.container import Container
from system.controllers import ExecutionController, ExecutionState, SessionSpec
from system.errors import HistoricalDataError, InvalidTransition, ServiceUnavailable, SessionError
from system.orders import BacktestOrderManager, OrderManager
from system.persistence.timestamps import aware_to_db_timestamp
from system.ports import Tick
from tests.system.bus_recorder import Recorder
from tests.system.fake_database import FakeDatabase

EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
SYMBOLS = ("BTC_USDT", "ETH_USDT")
HOURS = 2
KERNELS = ["asyncio", "trio"]
FULL_LIFE = [("IDLE", "STARTING"), ("STARTING", "RUNNING"), ("RUNNING", "STOPPING"), ("STOPPING", "STOPPED")]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def price_path(index: int, symbol_index: int) -> tuple[float, float]:
    """A wavy price with a volume-backed pump every 15 minutes: enough to make the default
    strategies open and close positions."""
    burst = index % 900 < 30
    drift = 0.002 * math.sin(index / 50 + symbol_index) + (0.01 if burst else 0.0)
    return drift, 21.0 if burst else 1.0


def market_rows(symbols: Sequence[str], seconds: int) -> list[dict[str, Any]]:
    rows = []
    for symbol_index, symbol in enumerate(symbols):
        price = 100.0 * (symbol_index + 1)
        for i in range(seconds):
            drift, volume = price_path(i, symbol_index)
            price *= 1 + drift
            rows.append({"symbol": symbol, "timestamp": aware_to_db_timestamp(EPOCH + timedelta(seconds=i)),
                         "price": price, "volume": volume, "quote_volume": price * volume})
    return rows


def loaded_db() -> SimQuestDB:
    db = SimQuestDB.from_migrations()
    db.load_rows("market_data", market_rows(SYMBOLS, HOURS * 3600))
    return db


class FixedClock(VirtualClock):
    """For tests on pytest's own event loops, whose time is the machine's: always EPOCH."""

    def now(self) -> datetime:
        return self.epoch


def make_container(database: Any, clock: VirtualClock | None = None) -> Container:
    config = SystemConfig.default(symbols=SYMBOLS, history_retry=RetryPolicy(attempts=2, backoff=0.0))
    return Container(config, clock=clock or VirtualClock(EPOCH), ids=SeededIds(), random=SeededRandom(7),
                     database=database)


def backtest_spec(hours: float = HOURS) -> SessionSpec:
    return SessionSpec("backtest", SYMBOLS, EPOCH, EPOCH + timedelta(hours=hours))


def run(main: Callable[[], Awaitable[Any]], kernel: str, *, seed: int = 0, policy: str = "fifo") -> Any:
    result = sim.kernel.run(main, seed=seed, policy=policy, kernel=kernel)
    assert result.error is None, result.error
    assert not result.violations, result.violations
    return result.value


class Lifecycle:
    """A bus observer: who subscribed and unsubscribed, in order."""

    def __init__(self) -> None:
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []

    def on_subscribe(self, subscription: Subscription) -> None:
        self.subscribed.append(subscription.component)

    def on_unsubscribe(self, subscription: Subscription) -> None:
        self.unsubscribed.append(subscription.component)

    def on_publish(self, *args: Any) -> None:
        pass

    def on_handler_error(self, *args: Any) -> None:
        pass


def transitions(recorder: Recorder, session_id: str) -> list[tuple[str, str]]:
    return [(p["old_state"], p["new_state"]) for p in recorder.of(topics.SESSION_STATE_CHANGED)
            if p["session_id"] == session_id]


def first_seen(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


# -- a full backtest ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_backtest_session_trades_through_the_backtest_order_manager(
        kernel: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> dict[str, Any]:
        db = loaded_db()
        container = make_container(db)
        recorder = await Recorder().attach(container.event_bus, topics.SESSION_STATE_CHANGED,
                                           topics.SIGNAL_GENERATED, topics.ORDER_CREATED)
        lifecycle = Lifecycle()
        container.event_bus.add_observer(lifecycle)
        controller = container.create_unified_trading_controller()
        await controller.start()
        session_id = await controller.create_session(backtest_spec())
        await controller.start_session(session_id)
        running_roles = [s.name for s in container.event_bus.subscribers(topics.SIGNAL_GENERATED)]
        final = await controller.wait_session(session_id)
        await controller.stop()
        await db.wait_for_wal()
        execution = controller.session(session_id)
        return {"final": final, "execution": execution, "recorder": recorder, "lifecycle": lifecycle,
                "running_roles": running_roles, "session_id": session_id,
                "orders": await execution.order_manager.get_all_orders(),
                "sessions": db.table_rows("sessions"), "bus": container.event_bus}

    with caplog.at_level(logging.INFO, logger="system.controllers.execution"):
        out = run(main, kernel)
    execution, recorder, session_id = out["execution"], out["recorder"], out["session_id"]
    assert out["final"] is ExecutionState.STOPPED and execution.error is None
    assert transitions(recorder, session_id) == FULL_LIFE
    for old, new in FULL_LIFE:
        assert f"session.transition session_id={session_id} mode=backtest {old} -> {new}" in caplog.text
    # defect 1: the backtest order manager was created and started, and it executed signals
    assert type(execution.order_manager) is BacktestOrderManager
    assert "BacktestOrderManager:order_execution" in out["running_roles"]
    actionable = {p["signal_id"] for p in recorder.of(topics.SIGNAL_GENERATED) if p["signal_type"] != "S1"}
    assert out["orders"] and {p["signal_id"] for p in recorder.of(topics.ORDER_CREATED)} <= actionable
    assert execution.data_source.rows_published == dict.fromkeys(SYMBOLS, HOURS * 3600)
    # started in the order data flows back through them, stopped in reverse
    started = first_seen(out["lifecycle"].subscribed)
    session_components = ["StreamingIndicatorEngine", "StrategyManager", "BacktestOrderManager"]
    assert [name for name in started if name in session_components] == session_components
    stopped = first_seen(out["lifecycle"].unsubscribed)
    assert [name for name in stopped if name in session_components] == session_components[::-1]
    assert all(not out["bus"].subscribers(t) for t in (topics.MARKET_PRICE_UPDATE, topics.INDICATOR_UPDATED))
    [row] = out["sessions"]
    assert (row["session_id"], row["mode"], row["status"]) == (session_id, "backtest", "STOPPED")


# -- the state machine --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_invalid_transition_raises_and_changes_nothing() -> None:
    container = make_container(FakeDatabase(), FixedClock(EPOCH))
    recorder = await Recorder().attach(container.event_bus, topics.SESSION_STATE_CHANGED)
    execution = ExecutionController(container, "sess_1", backtest_spec())
    with pytest.raises(InvalidTransition, match="sess_1: invalid transition IDLE -> RUNNING"):
        await execution._transition_to(ExecutionState.RUNNING)
    assert execution.state is ExecutionState.IDLE
    assert recorder.of(topics.SESSION_STATE_CHANGED) == []
    await execution._transition_to(ExecutionState.STARTING)
    [event] = recorder.of(topics.SESSION_STATE_CHANGED)
    assert event == {"session_id": "sess_1", "mode": "backtest", "old_state": "IDLE", "new_state": "STARTING",
                     "timestamp": EPOCH.timestamp()}
    with pytest.raises(InvalidTransition):
        await execution._transition_to(ExecutionState.STOPPED)


@pytest.mark.anyio
async def test_a_failing_replay_fails_the_session_with_its_cause_and_stops_everything() -> None:
    db = FakeDatabase()
    db.add_rows("BTC_USDT", [(EPOCH.replace(tzinfo=None) + timedelta(seconds=i), 1.0, 1.0, 1.0)
                             for i in range(10)])
    db.fail("LIMIT", times=100)
    container = make_container(db)
    recorder = await Recorder().attach(container.event_bus, topics.SESSION_STATE_CHANGED)
    controller = container.create_unified_trading_controller()
    await controller.start()
    session_id = await controller.create_session(backtest_spec())
    await controller.start_session(session_id)
    assert await controller.wait_session(session_id) is ExecutionState.FAILED
    await controller.stop()
    execution = controller.session(session_id)
    assert isinstance(execution.error, HistoricalDataError)
    assert transitions(recorder, session_id)[-1] == ("RUNNING", "FAILED")
    assert not container.event_bus.subscribers(topics.SIGNAL_GENERATED) or all(
        s.component == "TestRecorder" for s in container.event_bus.subscribers(topics.SIGNAL_GENERATED))
    assert not container.event_bus.subscribers(topics.MARKET_PRICE_UPDATE)


@pytest.mark.anyio
async def test_a_session_that_cannot_start_fails_with_service_unavailable() -> None:
    container = make_container(FakeDatabase())  # no exchange client: live mode cannot trade
    recorder = await Recorder().attach(container.event_bus, topics.SESSION_STATE_CHANGED)
    controller = container.create_unified_trading_controller()
    await controller.start()
    session_id = await controller.create_session(
        SessionSpec("live", SYMBOLS, EPOCH, EPOCH + timedelta(hours=1)))
    with pytest.raises(SessionError, match="failed to start") as caught:
        await controller.start_session(session_id)
    assert isinstance(caught.value.__cause__, ServiceUnavailable)
    assert controller.session(session_id).state is ExecutionState.FAILED
    assert transitions(recorder, session_id) == [("IDLE", "STARTING"), ("STARTING", "FAILED")]
    assert not container.event_bus.subscribers(topics.MARKET_PRICE_UPDATE)  # indicators were stopped
    assert await controller.stop_session(session_id) is ExecutionState.FAILED
    await controller.stop()


@pytest.mark.anyio
async def test_session_operations_name_what_is_wrong() -> None:
    controller = make_container(FakeDatabase()).create_unified_trading_controller()
    with pytest.raises(SessionError, match="start"):
        await controller.create_session(backtest_spec())
    await controller.start()
    with pytest.raises(SessionError, match="nope: unknown session"):
        controller.session("nope")
    session_id = await controller.create_session(backtest_spec())
    with pytest.raises(SessionError, match="never started"):
        await controller.wait_session(session_id)
    assert await controller.stop_session(session_id) is ExecutionState.STOPPED  # stopped before it started
    with pytest.raises(SessionError, match="cannot start a session in state STOPPED"):
        await controller.start_session(session_id)
    await controller.stop()
    await controller.stop()


# -- paper mode, early stop, isolation ------------------------------------------------------------


class EndlessFeed:
    """One tick per symbol every second, forever, paced by the (virtual) clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        index = 0
        while True:
            for symbol_index, symbol in enumerate(symbols):
                drift, volume = price_path(index, symbol_index)
                yield Tick(symbol, self._clock.now(), 100.0 * (1 + drift), volume, 100.0 * volume)
            index += 1
            await self._clock.sleep(1.0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_paper_session_trades_until_its_end_on_the_clock(kernel: str) -> None:
    async def main() -> tuple[Any, ...]:
        container = make_container(SimQuestDB.from_migrations())
        container.market_feed = EndlessFeed(container.clock)
        controller = container.create_unified_trading_controller()
        await controller.start()
        session_id = await controller.create_session(
            SessionSpec("paper", SYMBOLS, EPOCH, EPOCH + timedelta(minutes=10)))
        await controller.start_session(session_id)
        final = await controller.wait_session(session_id)
        ended_at = container.clock.monotonic()
        await controller.stop()
        execution = controller.session(session_id)
        return final, ended_at, execution

    final, ended_at, execution = run(main, kernel)
    assert final is ExecutionState.STOPPED
    assert ended_at == pytest.approx(600.0)
    assert type(execution.order_manager) is OrderManager
    # ticks at t = 0..599, and the one at t = 600 when the feed wakes before the end timer
    assert set(execution.data_source.rows_published) == set(SYMBOLS)
    assert all(count in (600, 601) for count in execution.data_source.rows_published.values())


@pytest.mark.parametrize("kernel", KERNELS)
def test_stop_session_ends_a_backtest_early(kernel: str) -> None:
    async def main() -> tuple[Any, ...]:
        container = make_container(loaded_db())
        controller = container.create_unified_trading_controller()
        await controller.start()
        session_id = await controller.create_session(backtest_spec())
        reached = anyio.Event()

        async def watch(payload: dict[str, Any]) -> None:
            if payload["seq"] == 500:
                reached.set()

        await container.event_bus.subscribe(topics.MARKET_PRICE_UPDATE, watch, component="Test", role="watch")
        await controller.start_session(session_id)
        await reached.wait()
        final = await controller.stop_session(session_id)
        await controller.stop()
        return final, controller.session(session_id).data_source.rows_published

    final, published = run(main, kernel)
    assert final is ExecutionState.STOPPED
    assert 500 <= sum(published.values()) < len(SYMBOLS) * HOURS * 3600


def _session_results(sessions: int, kernel: str, seed: int, policy: str) -> list[list[tuple[Any, ...]]]:
    """Orders of each session, without the ids (the Ids port is shared between sessions)."""

    async def main() -> list[list[tuple[Any, ...]]]:
        container = make_container(loaded_db())
        controller = container.create_unified_trading_controller()
        await controller.start()
        ids = [await controller.create_session(backtest_spec(hours=1)) for _ in range(sessions)]
        for session_id in ids:
            await controller.start_session(session_id)
        for session_id in ids:
            await controller.wait_session(session_id)
        await controller.stop()
        results = []
        for session_id in ids:
            orders = await controller.session(session_id).order_manager.get_all_orders()
            assert {order["session_id"] for order in orders} <= {session_id}
            results.append([tuple(v for k, v in sorted(order.items()) if not k.endswith("_id"))
                            for order in orders])
        return results

    return run(main, kernel, seed=seed, policy=policy)


@pytest.mark.parametrize("kernel", KERNELS)
def test_concurrent_sessions_are_isolated(kernel: str) -> None:
    [alone] = _session_results(1, kernel, seed=0, policy="fifo")
    assert alone
    first, second = _session_results(2, kernel, seed=3, policy="random")
    assert first == alone and second == alone


@pytest.mark.parametrize("kernel", KERNELS)
def test_stopping_the_controller_stops_running_sessions_and_notifies(
        kernel: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[Any, ...]:
        container = make_container(SimQuestDB.from_migrations())
        container.config = SystemConfig.default(symbols=SYMBOLS, notifications_enabled=True)
        container.market_feed = EndlessFeed(container.clock)
        controller = container.create_unified_trading_controller()
        await controller.start()
        session_id = await controller.create_session(
            SessionSpec("paper", SYMBOLS, EPOCH, EPOCH + timedelta(days=1)))
        await controller.start_session(session_id)
        await container.clock.sleep(30.0)
        await controller.stop()
        return controller.session(session_id), container.clock.monotonic(), controller.notifications

    with caplog.at_level(logging.INFO, logger="system.notifications"):
        execution, stopped_at, notifications = run(main, kernel)
    assert execution.state is ExecutionState.STOPPED and stopped_at == pytest.approx(30.0)
    assert notifications is not None and notifications.sent == 4
    assert f"session {execution.session_id} (paper): STOPPING -> STOPPED" in caplog.text
