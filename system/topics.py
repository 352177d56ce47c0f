"""Topic names of the system's EventBus, in one place so publishers and subscribers agree.

The payload of each topic is specified in ``contracts/registry/trading.py`` (the contract,
kept apart from the code it judges) and summarised in ``docs/architecture.md``.
"""

MARKET_PRICE_UPDATE = "market.price_update"
INDICATOR_UPDATED = "indicator.updated"
SIGNAL_GENERATED = "signal_generated"
ORDER_CREATED = "order_created"
ORDER_FILLED = "order_filled"
ORDER_REJECTED = "order_rejected"
ORDER_CANCELLED = "order_cancelled"
POSITION_OPENED = "position_opened"
POSITION_UPDATED = "position_updated"
POSITION_CLOSED = "position_closed"
POSITION_SYNC_CORRECTED = "position.sync_corrected"
SESSION_STATE_CHANGED = "session.state_changed"
STORAGE_TABLE_SUSPENDED = "storage.table_suspended"
STORAGE_TABLE_RESUMED = "storage.table_resumed"
