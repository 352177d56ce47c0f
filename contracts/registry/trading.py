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

from contracts.registry.model import BusConventions, Consumer, Field, Lineage, Registry, Service, Topic

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
SESSION_STATES = ("IDLE", "STARTING", "RUNNING", "STOPPING", "STOPPED", "FAILED")

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


LINEAGE = (
    *_lineage("signal_generated", "strategy_signals", "signal_id", "session_id", "strategy_id", "symbol",
              "signal_type", "action", "triggered", "conditions_met", "indicator_values", "metadata",
              "timestamp"),
    *_lineage("order_created", "orders", "order_id", "session_id", "signal_id", "strategy_id", "symbol",
              "side", "order_type", "quantity", "price", "status", "metadata", "timestamp"),
    *_lineage("order_filled", "orders", "filled_quantity", "filled_price", "commission", "status"),
    *_lineage("order_rejected", "orders", "order_id", "session_id", "signal_id", "strategy_id", "symbol",
              "side", "order_type", "quantity", "price", "timestamp"),
    *_lineage("position_opened", "positions", "position_id", "session_id", "strategy_id", "symbol", "side",
              "quantity", "entry_price", "current_price", "stop_loss", "take_profit", "metadata",
              "timestamp"),
    *_lineage("position_updated", "positions", "quantity", "entry_price", "current_price", "unrealized_pnl"),
    *_lineage("position_closed", "positions", "current_price", "realized_pnl"),
    *_lineage("session.state_changed", "sessions", "session_id", "mode"),
    Lineage("session.state_changed", "new_state", "sessions", "status"),
    *_lineage("market.price_update", "market_data", "symbol", "price", "volume", "quote_volume",
              "timestamp"),
)

# Every INSERT into these tables must write these columns: a NULL session_id makes a row
# belong to no session, a NULL signal_id merges signals under DEDUP (NULL matches NULL).
REQUIRED_COLUMNS = {
    "strategy_signals": ("signal_id", "session_id", "strategy_id", "symbol", "timestamp"),
    "orders": ("order_id", "session_id", "signal_id", "strategy_id", "symbol", "timestamp"),
    "positions": ("position_id", "session_id", "strategy_id", "symbol", "timestamp"),
    "sessions": ("session_id", "mode", "status"),
}

SERVICES = (
    Service("TradingPersistenceService", "create_trading_persistence_service", optional=False),
    Service("StorageHealthMonitor", "create_storage_health_monitor", optional=False),
    Service("StreamingIndicatorEngine", "create_indicator_engine", optional=False),
    Service("StrategyManager", "create_strategy_manager", optional=False),
    Service("OrderManager", "create_order_manager", optional=False),
    Service("BacktestOrderManager", "create_backtest_order_manager", optional=False),
    Service("LiveOrderManager", "create_live_order_manager", optional=False),
    Service("PositionSyncService", "create_position_sync_service", optional=False),
    Service("QuestDBHistoricalDataSource", "create_historical_data_source", optional=False),
    Service("LiveMarketDataSource", "create_live_data_source", optional=False),
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
)
