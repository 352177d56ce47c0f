"""The runtime monitor on the real EventBus: payloads, live roles, handler errors, statements."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest

from contracts.migrations import load_schema
from contracts.monitor import RuntimeMonitor
from contracts.registry.trading import REGISTRY
from system.bus import EventBus
from system.ports import QueryError, TransientDatabaseError

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema(REPO / "system" / "migrations")


class Side(enum.StrEnum):
    BUY = "BUY"


def signal(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "signal_id": "sig_1", "session_id": "s1", "strategy_id": "st", "symbol": "BTC_USDT", "signal_type": "Z1",
        "action": "BUY", "triggered": True, "price": 100.5, "quantity": 2, "conditions_met": {},
        "indicator_values": {"rsi": 30.0}, "metadata": {}, "timestamp": 1_700_000_000.25,
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not ...}


class Clock:
    """The location hint: a virtual time the test advances by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def hint(self) -> str:
        return f"t={self.t}s"


def monitored(mode: str = "backtest") -> tuple[EventBus, RuntimeMonitor, Clock]:
    clock = Clock()
    bus = EventBus()
    monitor = RuntimeMonitor(REGISTRY, SCHEMA, mode=mode, location_hint=clock.hint)
    bus.add_observer(monitor)
    return bus, monitor, clock


async def ignore(payload: dict) -> None:
    """A handler that accepts everything."""


def run(main) -> None:
    anyio.run(main)


def test_a_correct_wiring_and_payload_give_no_findings():
    async def main() -> None:
        bus, monitor, _ = monitored()
        await bus.subscribe("signal_generated", ignore, component="BacktestOrderManager", role="order_execution")
        await bus.subscribe("signal_generated", ignore, component="TradingPersistenceService", role="persistence")
        await bus.publish("signal_generated", signal())
        await bus.publish("signal_generated", signal(side=..., action=Side.BUY, quantity=1.5))
        assert monitor.violations() == []
        assert monitor.publishes == {"signal_generated": 2}
    run(main)


def test_seed_defect_1_signal_without_an_order_executor_is_reported_with_evidence():
    async def main() -> None:
        bus, monitor, clock = monitored("backtest")
        executor = await bus.subscribe("signal_generated", ignore, component="BacktestOrderManager",
                                       role="order_execution")
        await bus.subscribe("signal_generated", ignore, component="TradingPersistenceService", role="persistence")
        await bus.publish("signal_generated", signal())  # reached the executor: fine
        await bus.unsubscribe(executor)
        for step in range(3):
            clock.t = 10.0 + step
            await bus.publish("signal_generated", signal(signal_id=f"sig_{step}"))
        [violation] = monitor.violations()
        assert violation.rule == "contract.required-role-missing"
        assert violation.location == "topic signal_generated at t=10.0s"
        assert violation.seen == "live: TradingPersistenceService:persistence"
        assert "'order_execution'" in violation.expected and "backtest" in violation.expected
        assert violation.details["count"] == 3
        assert violation.details["publishes_total"] == 4
        assert violation.details["live_subscribers"] == ["TradingPersistenceService:persistence"]
        assert violation.message.endswith("(3 times)")
    run(main)


def test_a_publish_with_nobody_subscribed_is_a_dead_letter_and_misses_every_required_role():
    async def main() -> None:
        bus, monitor, _ = monitored("paper")
        await bus.publish("order_filled", {
            "order_id": "o1", "session_id": "s1", "signal_id": "sig_1", "strategy_id": "st", "symbol": "BTC_USDT",
            "side": "BUY", "filled_quantity": 1.0, "filled_price": 10.0, "commission": 0.01, "status": "FILLED",
            "timestamp": 1.0})
        found = {(v.rule, str(v.severity)) for v in monitor.violations()}
        assert found == {("contract.dead-letter", "warning"), ("contract.required-role-missing", "error")}
    run(main)


@pytest.mark.parametrize(("changes", "rule", "field"), [
    ({"signal_id": ...}, "contract.payload-missing-field", "signal_id"),  # seed defect 2
    ({"session_id": ...}, "contract.payload-missing-field", "session_id"),  # seed defect 3
    ({"signal_id": None}, "contract.payload-null", "signal_id"),
    ({"triggered": 1}, "contract.payload-type", "triggered"),
    ({"price": True}, "contract.payload-type", "price"),
    ({"price": "100.5"}, "contract.payload-type", "price"),
    ({"signal_type": "X9"}, "contract.payload-choice", "signal_type"),
    ({"confidence": 0.9}, "contract.payload-unknown-field", "confidence"),
])
def test_each_payload_rule_fires_on_its_violation(changes, rule, field):
    _, monitor, _ = monitored()
    monitor.on_publish("signal_generated", signal(**changes), ())
    [violation] = [v for v in monitor.violations() if v.rule.startswith("contract.payload")]
    assert violation.rule == rule
    assert field in violation.message


def test_seed_defect_7_renamed_field_names_the_likely_new_name():
    _, monitor, _ = monitored()
    monitor.on_publish("signal_generated", signal(strategy_id=..., strategy_name="st"), ())
    found = {v.rule: v for v in monitor.violations()}
    assert "renamed to 'strategy_name'?" in found["contract.payload-missing-field"].message
    assert found["contract.payload-unknown-field"].details["did_you_mean"] == "strategy_id"


def test_optional_fields_may_be_absent_or_none():
    _, monitor, _ = monitored()
    position = {"position_id": "p1", "session_id": "s1", "strategy_id": "st", "symbol": "BTC_USDT", "side": "LONG",
                "quantity": 1.0, "entry_price": 10.0, "current_price": 10.0, "metadata": {}, "timestamp": 1.0}
    monitor.on_publish("position_opened", position, ())
    monitor.on_publish("position_opened", {**position, "stop_loss": None, "take_profit": 12}, ())
    assert [v.rule for v in monitor.violations()] == ["contract.dead-letter", "contract.required-role-missing"]


def test_an_optional_enumerated_field_may_be_none_but_not_outside_its_choices():
    _, monitor, _ = monitored()
    rejected = {"order_id": "o1", "session_id": "s1", "signal_id": "sig_1", "strategy_id": "st", "symbol": "BTC_USDT",
                "side": "SELL", "quantity": 1.0, "price": 10.0, "reason": "no_position", "timestamp": 1.0}
    monitor.on_publish("order_rejected", rejected, ())
    monitor.on_publish("order_rejected", {**rejected, "order_type": None}, ())
    monitor.on_publish("order_rejected", {**rejected, "order_type": "MARKET"}, ())
    assert not [v for v in monitor.violations() if v.rule.startswith("contract.payload")]
    monitor.on_publish("order_rejected", {**rejected, "order_type": "STOP"}, ())
    assert [v.seen for v in monitor.violations() if v.rule.startswith("contract.payload")] == ["'STOP'"]


def test_findings_are_aggregated_per_rule_and_topic_with_the_first_location():
    _, monitor, clock = monitored()
    for step in range(100):
        clock.t = float(step)
        monitor.on_publish("signal_generated", signal(session_id=...), ())
    payload_findings = [v for v in monitor.violations() if v.rule == "contract.payload-missing-field"]
    assert len(payload_findings) == 1
    assert payload_findings[0].details["count"] == 100
    assert payload_findings[0].location == "topic signal_generated at t=0.0s"
    assert len(payload_findings[0].details["samples"]) == 3


def test_handler_errors_are_reported_with_the_subscriber():
    async def main() -> None:
        bus, monitor, _ = monitored()

        async def broken(payload: dict) -> None:
            raise KeyError("strategy_name")

        await bus.subscribe("signal_generated", broken, component="BacktestOrderManager", role="order_execution")
        await bus.subscribe("signal_generated", ignore, component="TradingPersistenceService", role="persistence")
        await bus.publish("signal_generated", signal())
        [violation] = monitor.violations()
        assert violation.rule == "contract.handler-error"
        assert "BacktestOrderManager:order_execution raised KeyError" in violation.message
    run(main)


def test_unknown_topics_and_undeclared_consumers():
    async def main() -> None:
        bus, monitor, _ = monitored()
        await bus.subscribe("signal_generatd", ignore, component="OrderManager", role="order_execution")
        await bus.subscribe("order_created", ignore, component="Auditor", role="audit")
        await bus.publish("signal_generatd", {})
        found = monitor.violations()
        unknown = [v for v in found if v.rule == "contract.unknown-topic"]
        assert [v.message.split(" on ")[0] for v in unknown] == ["publish", "subscribe by OrderManager:order_execution"]
        assert {v.details["did_you_mean"] for v in unknown} == {"signal_generated"}
        assert [v.seen for v in found if v.rule == "contract.undeclared-consumer"] == ["Auditor:audit"]
    run(main)


def test_mode_must_be_one_of_the_registrys():
    with pytest.raises(ValueError, match="mode 'sandbox'"):
        RuntimeMonitor(REGISTRY, SCHEMA, mode="sandbox")


# --- statements ---------------------------------------------------------------------------------

INSERT_SIGNAL = (
    "INSERT INTO strategy_signals (signal_id, strategy_id, symbol, session_id, signal_type, timestamp, triggered,"
    " action, conditions_met, indicator_values, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
NAIVE = datetime(2024, 1, 2, 3, 4, 5)
GOOD_ROW = ("sig_1", "st", "BTC_USDT", "s1", "Z1", NAIVE, True, "BUY", "{}", "{}", "{}")


def row(**changes: object) -> tuple[object, ...]:
    names = ("signal_id", "strategy_id", "symbol", "session_id", "signal_type", "timestamp", "triggered", "action",
             "conditions_met", "indicator_values", "metadata")
    return tuple(changes.get(name, value) for name, value in zip(names, GOOD_ROW, strict=True))


def statement_findings(query: str, args, error: BaseException | None = None) -> list[tuple[str, str]]:
    _, monitor, _ = monitored()
    monitor.on_statement(query, args, error)
    return [(v.rule, v.seen) for v in monitor.violations()]


def test_a_well_typed_statement_gives_no_findings():
    assert statement_findings(INSERT_SIGNAL, GOOD_ROW) == []
    assert statement_findings(INSERT_SIGNAL, row(timestamp=date(2024, 1, 2))) == []
    assert statement_findings("UPDATE orders SET status = $1 WHERE order_id = $2 AND session_id = $3",
                              ("FILLED", "o1", "s1")) == []


@pytest.mark.parametrize(("changes", "seen"), [
    ({"timestamp": 1_704_164_645.5}, "float (asyncpg DataError: expected a datetime.date"),
    ({"timestamp": "2024-01-02T03:04:05"}, "str (asyncpg DataError"),
    ({"timestamp": NAIVE.replace(tzinfo=UTC)}, "timezone-aware datetime"),
    ({"timestamp": NAIVE.replace(tzinfo=timezone(timedelta(hours=2)))}, "timezone-aware datetime"),
    ({"triggered": 1}, "int (asyncpg DataError: a boolean is required)"),
    ({"metadata": {"a": 1}}, "dict (asyncpg DataError: expected str; store JSON with json.dumps)"),
    ({"symbol": 7}, "int (asyncpg DataError: expected str)"),
])
def test_parameter_types_asyncpg_or_questdb_would_reject(changes, seen):
    [(rule, actual)] = statement_findings(INSERT_SIGNAL, row(**changes))
    assert rule == "sql.param-type"
    assert actual.startswith(seen)


@pytest.mark.parametrize(("query", "args", "seen"), [
    ("UPDATE positions SET current_price = $1 WHERE position_id = $2", ("12.5", "p1"), "str (asyncpg DataError"),
    ("SELECT count() FROM market_data WHERE timestamp >= $1::timestamp", (1_704_164_645.5,),
     "float through ::timestamp is read as microseconds"),
    ("UPDATE positions SET quantity = $1 WHERE position_id = $2", (True, "p1"), "bool"),
])
def test_parameter_types_in_updates_and_comparisons(query, args, seen):
    [(rule, actual)] = statement_findings(query, args)
    assert rule == "sql.param-type"
    assert actual.startswith(seen)


@pytest.mark.parametrize(("changes", "rule_seen"), [
    ({"signal_id": None}, ("sql.null-key", "None")),  # dedup key
    ({"session_id": None}, ("sql.null-key", "None")),  # registry-required
    ({"timestamp": None}, ("sql.null-key", "None")),  # designated timestamp
])
def test_null_in_a_key_or_required_column(changes, rule_seen):
    assert statement_findings(INSERT_SIGNAL, row(**changes)) == [rule_seen]


def test_null_in_an_ordinary_column_is_allowed():
    assert statement_findings(INSERT_SIGNAL, row(metadata=None, triggered=None)) == []


def test_executemany_rows_are_each_checked():
    found = statement_findings(INSERT_SIGNAL, [GOOD_ROW, row(signal_id=None), row(signal_id=None)])
    assert found == [("sql.null-key", "None")]


def test_argument_count_and_static_problems_are_reported_at_run_time():
    assert statement_findings(INSERT_SIGNAL, GOOD_ROW[:3]) == [("sql.placeholder-count", "3 arguments")]
    assert statement_findings("SELECT nope FROM market_data", ()) == [("sql.unknown-column", "nope")]


def test_failed_statements_are_reported_unless_the_failure_is_transient():
    query = "UPDATE orders SET status = $1 WHERE order_id = $2"
    assert statement_findings(query, ("FILLED", "o1"), QueryError("Invalid column: nope")) == [
        ("sql.runtime-error", "Invalid column: nope")]
    assert statement_findings(query, ("FILLED", "o1"), TransientDatabaseError("connection reset")) == []
