-- Raw ticks per symbol, the source of every backtest replay.
-- Re-loading a day must not duplicate rows, hence the dedup key on (timestamp, symbol).
CREATE TABLE market_data (
    symbol SYMBOL capacity 256 CACHE,
    timestamp TIMESTAMP,
    price DOUBLE,
    volume DOUBLE
) timestamp(timestamp) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(timestamp, symbol);
