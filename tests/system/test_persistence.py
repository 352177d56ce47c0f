"""TradingPersistenceService: every column (signal_id and session_id included), bounded retry,
no row lost or duplicated, and an entity's writes in order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from contracts.migrations import load_schema
from sim.world.ports import VirtualClock
from system import topics
from system.bus import EventBus
from system.config import PersistenceConfig, RetryPolicy
from system.persistence import TradingPersistenceService
from system.persistence import statements as sql
from system.ports import DataError
from tests.system.fake_database import FakeDatabase, columns_of

MIGRATIONS = Path(__file__).resolve().parents[2] / "system" / "migrations"
EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
TS = EPOCH.timestamp() + 1.25
NAIVE_TS = datetime(2025, 1, 6, 0, 0, 1, 250000)
RETRY = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def signal(**changes: Any) -> dict[str, Any]:
    return {"signal_id": "sig_1", "session_id": "sess_A", "strategy_id": "momentum_long", "symbol": "BTC_USDT",
            "signal_type": "Z1", "action": "BUY", "triggered": True, "price": 100.0, "quantity": 2.0,
            "conditions_met": {"z1": True}, "indicator_values": {"rsi_14": 40.0, "ema_20": 99.0},
            "metadata": {"note": "x"}, "timestamp": TS, **changes}


def order_created(**changes: Any) -> dict[str, Any]:
    return {"order_id": "ord_1", "session_id": "sess_A", "signal_id": "sig_1", "strategy_id": "momentum_long",
            "symbol": "BTC_USDT", "side": "BUY", "order_type": "MARKET", "quantity": 2.0, "price": 100.0,
            "status": "NEW", "metadata": {"b": 1, "a": 2}, "timestamp": TS, **changes}


def order_filled(**changes: Any) -> dict[str, Any]:
    return {"order_id": "ord_1", "session_id": "sess_A", "signal_id": "sig_1", "strategy_id": "momentum_long",
            "symbol": "BTC_USDT", "side": "BUY", "filled_quantity": 2.0, "filled_price": 100.05,
            "commission": 0.08, "status": "FILLED", "timestamp": TS, **changes}


def position_opened(**changes: Any) -> dict[str, Any]:
    return {"position_id": "pos_1", "session_id": "sess_A", "strategy_id": "momentum_long", "symbol": "BTC_USDT",
            "side": "LONG", "quantity": 2.0, "entry_price": 100.05, "current_price": 100.05, "stop_loss": 98.0,
            "take_profit": None, "metadata": {}, "timestamp": TS, **changes}


async def service(db: FakeDatabase, retry: RetryPolicy = RETRY) -> tuple[EventBus, TradingPersistenceService]:
    bus = EventBus()
    persistence = TradingPersistenceService(bus, db, VirtualClock(EPOCH), config=PersistenceConfig(retry=retry))
    await persistence.start()
    return bus, persistence


def table_columns(table: str) -> list[str]:
    return list(load_schema(MIGRATIONS).tables[table].columns)


def row_of(write: tuple[str, tuple[Any, ...]]) -> dict[str, Any]:
    query, args = write
    return dict(zip(columns_of(query), args, strict=True))


@pytest.mark.parametrize(("statement", "table"), [
    (sql.INSERT_SIGNAL, "strategy_signals"), (sql.INSERT_ORDER, "orders"),
    (sql.INSERT_POSITION, "positions"), (sql.INSERT_SESSION, "sessions"),
])
def test_every_insert_names_every_column_of_its_table(statement: str, table: str) -> None:
    assert sorted(columns_of(statement)) == sorted(table_columns(table))


@pytest.mark.anyio
async def test_signal_row_has_signal_id_session_id_and_json_columns() -> None:
    db = FakeDatabase()
    bus, _ = await service(db)
    await bus.publish(topics.SIGNAL_GENERATED, signal())
    [write] = db.writes
    assert write[0] == sql.INSERT_SIGNAL
    assert row_of(write) == {
        "signal_id": "sig_1", "strategy_id": "momentum_long", "symbol": "BTC_USDT", "session_id": "sess_A",
        "signal_type": "Z1", "timestamp": NAIVE_TS, "triggered": True, "action": "BUY",
        "conditions_met": '{"z1": true}', "indicator_values": '{"ema_20": 99.0, "rsi_14": 40.0}',
        "metadata": '{"note": "x"}',
    }


@pytest.mark.anyio
async def test_order_lifecycle_rows() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    await bus.publish(topics.ORDER_CREATED, order_created())
    await bus.publish(topics.ORDER_FILLED, order_filled())
    await bus.publish(topics.ORDER_REJECTED, {
        "order_id": "ord_2", "session_id": "sess_A", "signal_id": "sig_2", "strategy_id": "momentum_long",
        "symbol": "BTC_USDT", "side": "SELL", "order_type": "MARKET", "quantity": 1.0, "price": 99.0,
        "reason": "no_position", "timestamp": TS})
    await bus.publish(topics.ORDER_CANCELLED, {
        "order_id": "ord_3", "session_id": "sess_A", "signal_id": "sig_3", "strategy_id": "momentum_long",
        "symbol": "BTC_USDT", "reason": "cancel_signal", "timestamp": TS})
    created, filled, rejected, cancelled = db.writes
    assert row_of(created) == {
        "order_id": "ord_1", "signal_id": "sig_1", "strategy_id": "momentum_long", "symbol": "BTC_USDT",
        "session_id": "sess_A", "side": "BUY", "order_type": "MARKET", "timestamp": NAIVE_TS, "quantity": 2.0,
        "price": 100.0, "filled_quantity": 0.0, "filled_price": None, "status": "NEW", "commission": 0.0,
        "metadata": '{"a": 2, "b": 1}',
    }
    assert filled == (sql.UPDATE_ORDER_FILL, (2.0, 100.05, 0.08, "FILLED", "ord_1", "sess_A"))
    assert (row_of(rejected)["status"], row_of(rejected)["order_type"]) == ("REJECTED", "MARKET")
    assert row_of(rejected)["signal_id"] == "sig_2" and row_of(rejected)["session_id"] == "sess_A"
    assert json.loads(row_of(rejected)["metadata"]) == {"reason": "no_position"}
    assert cancelled == (sql.UPDATE_ORDER_STATUS, ("CANCELLED", "ord_3", "sess_A"))
    assert persistence.failures == []


@pytest.mark.anyio
async def test_position_lifecycle_rows() -> None:
    db = FakeDatabase()
    bus, _ = await service(db)
    await bus.publish(topics.POSITION_OPENED, position_opened())
    await bus.publish(topics.POSITION_UPDATED, {
        "position_id": "pos_1", "session_id": "sess_A", "symbol": "BTC_USDT", "quantity": 2.0,
        "entry_price": 100.05, "current_price": 101.0, "unrealized_pnl": 1.9, "timestamp": TS + 60})
    await bus.publish(topics.POSITION_CLOSED, {
        "position_id": "pos_1", "session_id": "sess_A", "symbol": "BTC_USDT", "current_price": 102.0,
        "realized_pnl": 3.9, "timestamp": TS + 120})
    opened, updated, closed = db.writes
    assert row_of(opened) == {
        "position_id": "pos_1", "strategy_id": "momentum_long", "symbol": "BTC_USDT", "session_id": "sess_A",
        "timestamp": NAIVE_TS, "side": "LONG", "quantity": 2.0, "entry_price": 100.05, "current_price": 100.05,
        "unrealized_pnl": 0.0, "realized_pnl": 0.0, "stop_loss": 98.0, "take_profit": None, "status": "OPEN",
        "metadata": "{}",
    }
    assert updated == (sql.UPDATE_POSITION_MARK, (2.0, 100.05, 101.0, 1.9, "pos_1", "sess_A"))
    assert closed == (sql.UPDATE_POSITION_CLOSE, (102.0, 3.9, 0.0, "CLOSED", "pos_1", "sess_A"))


@pytest.mark.anyio
async def test_session_row_and_state_changes() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    await persistence.record_session("sess_A", mode="backtest", status="IDLE", symbols=("BTC_USDT", "ETH_USDT"),
                                     started_at=EPOCH, initial_balance=1000.0, config={"k": 1})
    for old, new in (("IDLE", "STARTING"), ("STOPPING", "STOPPED")):
        await bus.publish(topics.SESSION_STATE_CHANGED, {"session_id": "sess_A", "mode": "backtest",
                                                          "old_state": old, "new_state": new, "timestamp": TS})
    inserted, starting, stopped = db.writes
    assert row_of(inserted) == {
        "session_id": "sess_A", "mode": "backtest", "status": "IDLE", "symbols": "BTC_USDT,ETH_USDT",
        "started_at": EPOCH.replace(tzinfo=None), "stopped_at": None, "initial_balance": 1000.0,
        "config": '{"k": 1}',
    }
    assert starting == (sql.UPDATE_SESSION_STATUS, ("STARTING", "sess_A"))
    assert stopped == (sql.UPDATE_SESSION_FINISHED, ("STOPPED", NAIVE_TS, "sess_A"))


@pytest.mark.anyio
async def test_transient_errors_are_retried_and_write_exactly_once() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    db.fail("INSERT INTO strategy_signals", times=RETRY.attempts - 1)
    await bus.publish(topics.SIGNAL_GENERATED, signal())
    assert [query for query, _ in db.writes] == [sql.INSERT_SIGNAL]
    assert db.calls == RETRY.attempts
    assert persistence.failures == []


@pytest.mark.anyio
async def test_exhausted_retries_become_a_recorded_failure() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    db.fail("INSERT INTO orders", times=RETRY.attempts)
    await bus.publish(topics.ORDER_CREATED, order_created())
    await bus.publish(topics.SIGNAL_GENERATED, signal())  # the next write is unaffected
    [failure] = persistence.failures
    assert (failure.topic, failure.table, failure.entity_id, failure.attempts) == (
        topics.ORDER_CREATED, "orders", "ord_1", RETRY.attempts)
    assert [query for query, _ in db.writes] == [sql.INSERT_SIGNAL]


@pytest.mark.anyio
async def test_backoff_waits_on_the_clock_between_attempts() -> None:
    slept: list[float] = []

    class RecordingClock(VirtualClock):
        async def sleep(self, seconds: float) -> None:
            slept.append(seconds)

    db = FakeDatabase()
    bus = EventBus()
    policy = RetryPolicy(attempts=4, backoff=0.1, max_backoff=0.25)
    persistence = TradingPersistenceService(bus, db, RecordingClock(EPOCH), config=PersistenceConfig(retry=policy))
    await persistence.start()
    db.fail("INSERT", times=3)
    await bus.publish(topics.SIGNAL_GENERATED, signal())
    assert slept == [0.1, 0.2, 0.25]
    assert len(db.writes) == 1


@pytest.mark.anyio
async def test_bad_statements_and_payloads_fail_at_once_naming_what() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    db.fail("INSERT INTO strategy_signals", times=1, error=DataError)
    await bus.publish(topics.SIGNAL_GENERATED, signal())
    payload = signal(signal_id="sig_2")
    del payload["session_id"]
    await bus.publish(topics.SIGNAL_GENERATED, payload)
    await bus.publish(topics.SIGNAL_GENERATED, signal(signal_id="sig_3", timestamp="2025-01-06"))
    data_error, missing, bad_time = persistence.failures
    assert data_error.attempts == 1 and "DataError" in data_error.reason
    assert missing.entity_id == "sig_2" and "'session_id'" in missing.reason
    assert bad_time.entity_id == "sig_3" and "timestamp" in bad_time.reason
    assert db.writes == []


@pytest.mark.anyio
async def test_an_order_update_never_precedes_its_insert_across_concurrent_sessions() -> None:
    db = FakeDatabase(seed=7, max_yields=4)
    bus, persistence = await service(db, RetryPolicy(attempts=5, backoff=0.0, max_backoff=0.0))
    db.fail("INSERT INTO orders", times=4)  # retries stretch some inserts across other sessions' writes

    async def session(name: str) -> None:
        for n in range(5):
            order_id = f"ord_{name}_{n}"
            await bus.publish(topics.ORDER_CREATED, order_created(order_id=order_id, session_id=name))
            await bus.publish(topics.ORDER_FILLED, order_filled(order_id=order_id, session_id=name))

    async with anyio.create_task_group() as task_group:
        for name in ("sess_A", "sess_B", "sess_C"):
            task_group.start_soon(session, name)
    position = {}
    for index, (query, args) in enumerate(db.writes):
        key = args[0] if query == sql.INSERT_ORDER else args[4]
        position.setdefault(key, []).append((index, query))
    assert len(position) == 15
    for key, writes in position.items():
        assert [query for _, query in writes] == [sql.INSERT_ORDER, sql.UPDATE_ORDER_FILL], key
    assert persistence.failures == []


@pytest.mark.anyio
async def test_stop_unsubscribes_everything() -> None:
    db = FakeDatabase()
    bus, persistence = await service(db)
    assert len(bus.subscribers(topics.SIGNAL_GENERATED)) == 1
    await persistence.stop()
    await persistence.stop()
    await bus.publish(topics.SIGNAL_GENERATED, signal())
    assert db.writes == []
    assert all(not bus.subscribers(t) for t in (topics.ORDER_CREATED, topics.SESSION_STATE_CHANGED))
