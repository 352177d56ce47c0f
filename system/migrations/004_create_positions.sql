-- First cut of the position log.
CREATE TABLE positions (
    position_id SYMBOL,
    strategy_id SYMBOL,
    symbol SYMBOL,
    timestamp TIMESTAMP,
    side SYMBOL,
    quantity DOUBLE,
    entry_price DOUBLE,
    current_price DOUBLE,
    status SYMBOL
) timestamp(timestamp) PARTITION BY DAY WAL;
