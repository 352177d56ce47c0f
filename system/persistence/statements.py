"""Every SQL statement of the system, as constants: never assembled by string formatting.

Keeping them here lets ``contracts`` check each one against the schema parsed from
``system/migrations`` (tables, columns, placeholders, dedup keys) without running anything.
Each trading INSERT names every column of its table (migrations 019 and 020), so a missing
``signal_id`` or ``session_id`` is a visible omission here, not a NULL discovered later.
The dialect is what QuestDB's PG wire accepts: ``$n`` placeholders, ``LIMIT lo, hi`` (rows
lo+1..hi) instead of ``OFFSET``, no ``ON CONFLICT`` (dedup keys upsert), no ``DELETE``.
"""

# --- market_data (read by QuestDBHistoricalDataSource) ----------------------------------------

COUNT_MARKET_DATA = (
    "SELECT count() FROM market_data WHERE symbol = $1 AND timestamp >= $2 AND timestamp < $3"
)

# Column order matters: the replay reads rows by position on its hot path.
SELECT_MARKET_DATA_BATCH = (
    "SELECT timestamp, price, volume, quote_volume FROM market_data"
    " WHERE symbol = $1 AND timestamp >= $2 AND timestamp < $3"
    " ORDER BY timestamp LIMIT $4, $5"
)

# --- strategy_signals --------------------------------------------------------------------------

INSERT_SIGNAL = (
    "INSERT INTO strategy_signals (signal_id, strategy_id, symbol, session_id, signal_type, timestamp,"
    " triggered, action, conditions_met, indicator_values, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)

# --- orders ------------------------------------------------------------------------------------

INSERT_ORDER = (
    "INSERT INTO orders (order_id, signal_id, strategy_id, symbol, session_id, side, order_type, timestamp,"
    " quantity, price, filled_quantity, filled_price, status, commission, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)

UPDATE_ORDER_FILL = (
    "UPDATE orders SET filled_quantity = $1, filled_price = $2, commission = $3, status = $4"
    " WHERE order_id = $5 AND session_id = $6"
)

UPDATE_ORDER_STATUS = "UPDATE orders SET status = $1 WHERE order_id = $2 AND session_id = $3"

# --- positions ---------------------------------------------------------------------------------

INSERT_POSITION = (
    "INSERT INTO positions (position_id, strategy_id, symbol, session_id, timestamp, side, quantity,"
    " entry_price, current_price, unrealized_pnl, realized_pnl, stop_loss, take_profit, status, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)

UPDATE_POSITION_MARK = (
    "UPDATE positions SET quantity = $1, entry_price = $2, current_price = $3, unrealized_pnl = $4"
    " WHERE position_id = $5 AND session_id = $6"
)

UPDATE_POSITION_CLOSE = (
    "UPDATE positions SET current_price = $1, realized_pnl = $2, unrealized_pnl = $3, status = $4"
    " WHERE position_id = $5 AND session_id = $6"
)

# --- sessions ----------------------------------------------------------------------------------

INSERT_SESSION = (
    "INSERT INTO sessions (session_id, mode, status, symbols, started_at, stopped_at, initial_balance, config)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)

UPDATE_SESSION_STATUS = "UPDATE sessions SET status = $1 WHERE session_id = $2"

UPDATE_SESSION_FINISHED = "UPDATE sessions SET status = $1, stopped_at = $2 WHERE session_id = $3"

# --- WAL health (StorageHealthMonitor) ---------------------------------------------------------

SELECT_WAL_STATE = "SELECT name, suspended, writerTxn, sequencerTxn, errorMessage FROM wal_tables()"

# A table name cannot be a bind parameter, so each table the system writes has its statement.
RESUME_SESSIONS_WAL = "ALTER TABLE sessions RESUME WAL"
RESUME_STRATEGY_SIGNALS_WAL = "ALTER TABLE strategy_signals RESUME WAL"
RESUME_ORDERS_WAL = "ALTER TABLE orders RESUME WAL"
RESUME_POSITIONS_WAL = "ALTER TABLE positions RESUME WAL"

# --- recovery after a restart (UnifiedTradingController.recover) -------------------------------

SELECT_SESSIONS = "SELECT session_id, mode, status, started_at, config FROM sessions ORDER BY started_at"

SELECT_SESSION_ORDERS = (
    "SELECT order_id, signal_id, strategy_id, symbol, session_id, side, order_type, timestamp, quantity, price,"
    " filled_quantity, filled_price, status, commission, metadata FROM orders WHERE session_id = $1"
)

SELECT_SESSION_POSITIONS = (
    "SELECT position_id, strategy_id, symbol, session_id, timestamp, side, quantity, entry_price, current_price,"
    " unrealized_pnl, realized_pnl, stop_loss, take_profit, status, metadata FROM positions WHERE session_id = $1"
)
