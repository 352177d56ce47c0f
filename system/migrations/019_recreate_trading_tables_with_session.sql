-- Re-create the trading tables with session_id (isolates sessions, e.g. concurrent backtests),
-- signal_id, and DEDUP UPSERT KEYS so a retried INSERT overwrites instead of duplicating.
-- A NULL key matches NULL in QuestDB dedup: every writer must fill the id columns.
DROP TABLE IF EXISTS strategy_signals;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS positions;

CREATE TABLE strategy_signals (
    signal_id STRING,
    strategy_id SYMBOL,
    symbol SYMBOL,
    session_id SYMBOL capacity 2048 CACHE,
    signal_type SYMBOL,
    timestamp TIMESTAMP,
    triggered BOOLEAN,
    action STRING,
    conditions_met STRING,
    indicator_values STRING,
    metadata STRING
) timestamp(timestamp) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(timestamp, signal_id);

CREATE TABLE orders (
    order_id SYMBOL,
    strategy_id SYMBOL,
    symbol SYMBOL,
    session_id SYMBOL capacity 2048 CACHE,
    side SYMBOL,
    order_type SYMBOL,
    timestamp TIMESTAMP,
    quantity DOUBLE,
    price DOUBLE,
    filled_quantity DOUBLE,
    filled_price DOUBLE,
    status SYMBOL,
    commission DOUBLE,
    metadata STRING
) timestamp(timestamp) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(timestamp, order_id);

CREATE TABLE positions (
    position_id SYMBOL,
    strategy_id SYMBOL,
    symbol SYMBOL,
    session_id SYMBOL capacity 2048 CACHE,
    timestamp TIMESTAMP,
    side SYMBOL,
    quantity DOUBLE,
    entry_price DOUBLE,
    current_price DOUBLE,
    unrealized_pnl DOUBLE,
    realized_pnl DOUBLE,
    stop_loss DOUBLE,
    take_profit DOUBLE,
    status SYMBOL,
    metadata STRING
) timestamp(timestamp) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(timestamp, position_id);
