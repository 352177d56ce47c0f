"""The trading system's event contract (``system/``), declared apart from the code it judges.

Source of the topics and payloads: the event table of ``docs/architecture.md``.  Times in
payloads are float epoch seconds (UTC); the persistence service converts them to naive UTC
datetimes for QuestDB's TIMESTAMP columns, so lineage maps a float field onto a TIMESTAMP column.

Read this file as the answer to the seed report's questions: every signal carries
``signal_id`` and every event ``session_id`` (defects 2 and 3); in every mode a signal must
reach both an order executor and persistence (defect 1); field names are fixed here, once,
for publisher and handler alike (defect 7); which container services are optional is stated,
not guessed (defect 8).
"""

from __future__ import annotations

import json
import math

from contracts.registry.model import (
    BusConventions,
    Consumer,
    Entity,
    Field,
    Invariant,
    Lineage,
    Registry,
    Service,
    StateMachine,
    Topic,
    View,
)

MODES = ("backtest", "paper", "live")
ORDER_MANAGERS = ("OrderManager", "BacktestOrderManager", "LiveOrderManager")
PERSISTENCE = Consumer("TradingPersistenceService", "persistence")


def _text(name: str, *choices: str) -> Field:
    return Field(name, ("str",), choices=choices)


def _number(name: str) -> Field:
    return Field(name, ("float",))


def _dict(name: str) -> Field:
    return Field(name, ("dict",))


def _every_mode(*roles: str) -> dict[str, tuple[str, ...]]:
    return {mode: roles for mode in MODES}


def _persisted(name: str, *fields: Field) -> Topic:
    """An order/position/session event: written by the persistence service in every mode."""
    return Topic(name, fields, producers=ORDER_MANAGERS, consumers=(PERSISTENCE,),
                 required_roles=_every_mode("persistence"))


SESSION_ID = _text("session_id")
SIGNAL_ID = _text("signal_id")
STRATEGY_ID = _text("strategy_id")
SYMBOL = _text("symbol")
TIMESTAMP = _number("timestamp")
ORDER_ID = _text("order_id")
POSITION_ID = _text("position_id")
ORDER_SIDE = _text("side", "BUY", "SELL")
SESSION_STATES = ("IDLE", "STARTING", "RUNNING", "STOPPING", "STOPPED", "FAILED", "RECOVERING", "INTERRUPTED")

TOPICS = (
    Topic(
        "market.price_update",
        (SESSION_ID, SYMBOL, _number("price"), _number("volume"), _number("quote_volume"), TIMESTAMP,
         Field("seq", ("int",)), _text("source", "historical", "paper", "live")),
        producers=("QuestDBHistoricalDataSource", "LiveMarketDataSource"),
        consumers=(Consumer("StreamingIndicatorEngine", "indicators"),
                   *(Consumer(manager, "mark_to_market") for manager in ORDER_MANAGERS)),
        required_roles=_every_mode("indicators"),
    ),
    Topic(
        "indicator.updated",
        (SESSION_ID, SYMBOL, TIMESTAMP, _number("price"), _dict("values")),
        producers=("StreamingIndicatorEngine",),
        consumers=(Consumer("StrategyManager", "strategy"),),
        required_roles=_every_mode("strategy"),
    ),
    Topic(
        "signal_generated",
        (SIGNAL_ID, SESSION_ID, STRATEGY_ID, SYMBOL, _text("signal_type", "S1", "Z1", "ZE1", "E1"),
         _text("action", "BUY", "SELL", "CANCEL", "CLOSE"), Field("triggered", ("bool",)),
         _number("price"), _number("quantity"), _dict("conditions_met"), _dict("indicator_values"),
         _dict("metadata"), TIMESTAMP),
        producers=("StrategyManager",),
        consumers=(*(Consumer(manager, "order_execution") for manager in ORDER_MANAGERS), PERSISTENCE,
                   Consumer("StorageHealthMonitor", "storage_health")),
        required_roles=_every_mode("order_execution", "persistence"),
    ),
    _persisted("order_created", ORDER_ID, SESSION_ID, SIGNAL_ID, STRATEGY_ID, SYMBOL, ORDER_SIDE,
               _text("order_type", "MARKET", "LIMIT"), _number("quantity"), _number("price"),
               _text("status", "NEW"), _dict("metadata"), TIMESTAMP),
    _persisted("order_filled", ORDER_ID, SESSION_ID, SIGNAL_ID, STRATEGY_ID, SYMBOL, ORDER_SIDE,
               _number("filled_quantity"), _number("filled_price"), _number("commission"),
               _text("status", "FILLED", "PARTIALLY_FILLED"), TIMESTAMP),
    _persisted("order_rejected", ORDER_ID, SESSION_ID, SIGNAL_ID, STRATEGY_ID, SYMBOL, _text("side"),
               Field("order_type", ("str", "none"), required=False, choices=("MARKET", "LIMIT")),
               _number("quantity"), _number("price"), _text("reason"), TIMESTAMP),
    _persisted("order_cancelled", ORDER_ID, SESSION_ID, SIGNAL_ID, STRATEGY_ID, SYMBOL, _text("reason"),
               TIMESTAMP),
    _persisted("position_opened", POSITION_ID, SESSION_ID, STRATEGY_ID, SYMBOL,
               _text("side", "LONG", "SHORT"), _number("quantity"), _number("entry_price"),
               _number("current_price"),
               Field("stop_loss", ("float", "none"), required=False),
               Field("take_profit", ("float", "none"), required=False), _dict("metadata"), TIMESTAMP),
    _persisted("position_updated", POSITION_ID, SESSION_ID, SYMBOL, _number("quantity"),
               _number("entry_price"), _number("current_price"), _number("unrealized_pnl"), TIMESTAMP),
    _persisted("position_closed", POSITION_ID, SESSION_ID, SYMBOL, _number("current_price"),
               _number("realized_pnl"), TIMESTAMP),
    Topic(
        "position.sync_corrected",
        (SESSION_ID, ORDER_ID, _text("external_oid"), SYMBOL,
         _text("state", "COMPLETED", "CANCELLED", "INVALID", "NOT_FOUND"), _number("filled_quantity"),
         _number("filled_price"), _text("reason", "start", "reconnect", "periodic", "stop"), TIMESTAMP),
        producers=("PositionSyncService",),
        consumers=(Consumer("LiveOrderManager", "position_sync"),),
        required_roles={"live": ("position_sync",)},
    ),
    Topic(
        "storage.table_suspended",
        (_text("table"), _text("error"), Field("writer_txn", ("int",)), Field("sequencer_txn", ("int",)),
         TIMESTAMP),
        producers=("StorageHealthMonitor",),
        consumers=(PERSISTENCE, *(Consumer(manager, "storage_guard") for manager in ORDER_MANAGERS)),
        required_roles=_every_mode("persistence"),
    ),
    Topic(
        "storage.table_resumed",
        (_text("table"), TIMESTAMP),
        producers=("StorageHealthMonitor",),
        consumers=(PERSISTENCE, *(Consumer(manager, "storage_guard") for manager in ORDER_MANAGERS)),
        required_roles=_every_mode("persistence"),
    ),
    Topic(
        "session.state_changed",
        (SESSION_ID, _text("mode", *MODES), _text("old_state", *SESSION_STATES),
         _text("new_state", *SESSION_STATES), TIMESTAMP),
        producers=("ExecutionController",),
        consumers=(PERSISTENCE, Consumer("NotificationService", "notification")),
        required_roles=_every_mode("persistence"),
    ),
)


def _lineage(topic: str, table: str, *fields: str) -> tuple[Lineage, ...]:
    """Fields written to the column of the same name."""
    return tuple(Lineage(topic, name, table, name) for name in fields)


def _constants(topic: str, table: str, **values: object) -> tuple[Lineage, ...]:
    return tuple(Lineage.constant(topic, table, column, value) for column, value in values.items())


LINEAGE = (
    *_lineage("signal_generated", "strategy_signals", "signal_id", "session_id", "strategy_id", "symbol",
              "signal_type", "action", "triggered", "conditions_met", "indicator_values", "metadata",
              "timestamp"),
    *_lineage("order_created", "orders", "order_id", "session_id", "signal_id", "strategy_id", "symbol",
              "side", "order_type", "quantity", "price", "status", "metadata", "timestamp"),
    *_constants("order_created", "orders", filled_quantity=0.0, filled_price=None, commission=0.0),
    *_lineage("order_filled", "orders", "order_id", "session_id", "filled_quantity", "filled_price",
              "commission", "status"),
    *_lineage("order_rejected", "orders", "order_id", "session_id", "signal_id", "strategy_id", "symbol",
              "side", "order_type", "quantity", "price", "timestamp"),
    *_constants("order_rejected", "orders", filled_quantity=0.0, filled_price=None, commission=0.0,
                status="REJECTED"),
    Lineage.derived("order_rejected", "orders", "metadata", lambda p: json.dumps({"reason": p.get("reason")}),
                    "json of {'reason': reason}"),
    *_lineage("order_cancelled", "orders", "order_id", "session_id"),
    Lineage.constant("order_cancelled", "orders", "status", "CANCELLED"),
    *_lineage("position_opened", "positions", "position_id", "session_id", "strategy_id", "symbol", "side",
              "quantity", "entry_price", "current_price", "stop_loss", "take_profit", "metadata",
              "timestamp"),
    *_constants("position_opened", "positions", unrealized_pnl=0.0, realized_pnl=0.0, status="OPEN"),
    *_lineage("position_updated", "positions", "position_id", "session_id", "quantity", "entry_price",
              "current_price", "unrealized_pnl"),
    *_lineage("position_closed", "positions", "position_id", "session_id", "current_price", "realized_pnl"),
    *_constants("position_closed", "positions", unrealized_pnl=0.0, status="CLOSED"),
    *_lineage("session.state_changed", "sessions", "session_id", "mode"),
    Lineage("session.state_changed", "new_state", "sessions", "status"),
    Lineage("session.state_changed", "timestamp", "sessions", "stopped_at"),
    *_lineage("market.price_update", "market_data", "symbol", "price", "volume", "quote_volume",
              "timestamp"),
)

# A session's row is INSERTed when the session is created, before any event: these columns
# come from its configuration (docs/architecture.md), the rest from session.state_changed.
OUTSIDE_EVENTS = {"sessions": ("symbols", "started_at", "stopped_at", "initial_balance", "config")}

ORDER_STATES = StateMachine(
    "status", initial=("NEW", "REJECTED"),
    transitions={"NEW": ("PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED"),
                 "PARTIALLY_FILLED": ("PARTIALLY_FILLED", "FILLED", "CANCELLED"),
                 "FILLED": (), "CANCELLED": (), "REJECTED": ()},
    topic_states={"order_rejected": "REJECTED", "order_cancelled": "CANCELLED"})
POSITION_STATES = StateMachine(
    "status", initial=("OPEN",), transitions={"OPEN": ("OPEN", "CLOSED"), "CLOSED": ()},
    topic_states={"position_opened": "OPEN", "position_updated": "OPEN", "position_closed": "CLOSED"})
SESSION_STATES_MACHINE = StateMachine(
    "new_state", initial=(), start="IDLE", previous_field="old_state",
    transitions={"IDLE": ("STARTING", "STOPPED", "RECOVERING", "INTERRUPTED"),
                 "STARTING": ("RUNNING", "FAILED", "RECOVERING", "INTERRUPTED"),
                 "RUNNING": ("STOPPING", "FAILED", "RECOVERING", "INTERRUPTED"),
                 "STOPPING": ("STOPPED", "FAILED", "RECOVERING", "INTERRUPTED"),
                 "RECOVERING": ("STARTING", "FAILED"), "STOPPED": (), "FAILED": (), "INTERRUPTED": ()})

ENTITIES = (
    Entity("order", ("session_id", "order_id"),
           ("order_created", "order_filled", "order_rejected", "order_cancelled"), ORDER_STATES),
    Entity("position", ("session_id", "position_id"),
           ("position_opened", "position_updated", "position_closed"), POSITION_STATES),
    Entity("session", ("session_id",), ("session.state_changed",), SESSION_STATES_MACHINE),
)


def _brackets(v: View) -> bool:
    stop, entry, take = v["stop_loss"], v["entry_price"], v["take_profit"]
    if v["side"] == "LONG":
        return (stop is None or stop < entry) and (take is None or entry < take)
    return (stop is None or stop > entry) and (take is None or entry > take)


def _unrealized(v: View) -> bool:
    sign = 1.0 if v["side"] == "LONG" else -1.0
    expected = sign * (v["current_price"] - v["entry_price"]) * v["quantity"]
    return math.isclose(v["unrealized_pnl"], expected, rel_tol=1e-6, abs_tol=1e-6)


INVARIANTS = (
    Invariant("position.brackets", "at opening, LONG: stop_loss < entry_price < take_profit; SHORT: the "
              "reverse (a missing level is not checked; an add moves the average entry, not the levels)",
              ("side", "stop_loss", "entry_price", "take_profit"),
              _brackets, topics=("position_opened",), tables=("positions",), statements=("INSERT",)),
    Invariant("position.unrealized-pnl", "unrealized_pnl = side x (current_price - entry_price) x quantity "
              "(LONG +1, SHORT -1; within 1e-6)", ("side", "quantity", "entry_price", "current_price",
                                                  "unrealized_pnl"),
              _unrealized, topics=("position_updated",)),
    Invariant("order.fees-non-negative", "commission >= 0", ("commission",), lambda v: v["commission"] >= 0,
              topics=("order_filled",), tables=("orders",)),
    Invariant("order.filled-within-quantity", "filled_quantity <= quantity",
              ("filled_quantity", "quantity"), lambda v: v["filled_quantity"] <= v["quantity"] * (1 + 1e-9),
              topics=("order_filled",), tables=("orders",)),
)

# Every INSERT into these tables must write these columns: a NULL session_id makes a row
# belong to no session, a NULL signal_id merges signals under DEDUP (NULL matches NULL).
REQUIRED_COLUMNS = {
    "strategy_signals": ("signal_id", "session_id", "strategy_id", "symbol", "timestamp"),
    "orders": ("order_id", "session_id", "signal_id", "strategy_id", "symbol", "timestamp"),
    "positions": ("position_id", "session_id", "strategy_id", "symbol", "timestamp"),
    "sessions": ("session_id", "mode", "status"),
}

# ``modes``: the components ExecutionController creates for a session of that mode only (its order
# manager, PositionSyncService in live, its data source); the rest run in every mode.
SERVICES = (
    Service("TradingPersistenceService", "create_trading_persistence_service", optional=False),
    Service("StorageHealthMonitor", "create_storage_health_monitor", optional=False),
    Service("StreamingIndicatorEngine", "create_indicator_engine", optional=False),
    Service("StrategyManager", "create_strategy_manager", optional=False),
    Service("OrderManager", "create_order_manager", optional=False, modes=("paper",)),
    Service("BacktestOrderManager", "create_backtest_order_manager", optional=False, modes=("backtest",)),
    Service("LiveOrderManager", "create_live_order_manager", optional=False, modes=("live",)),
    Service("PositionSyncService", "create_position_sync_service", optional=False, modes=("live",)),
    Service("QuestDBHistoricalDataSource", "create_historical_data_source", optional=False, modes=("backtest",)),
    Service("LiveMarketDataSource", "create_live_data_source", optional=False, modes=("paper", "live")),
    Service("UnifiedTradingController", "create_unified_trading_controller", optional=False),
    Service("NotificationService", "create_notification_service", optional=True),
)

REGISTRY = Registry(
    name="trading",
    modes=MODES,
    topics={topic.name: topic for topic in TOPICS},
    lineage=LINEAGE,
    required_columns=REQUIRED_COLUMNS,
    services=SERVICES,
    conventions=BusConventions(topic_constants=("system/topics.py",)),
    outside_events=OUTSIDE_EVENTS,
    entities=ENTITIES,
    invariants=INVARIANTS,
)
