CREATE TABLE IF NOT EXISTS signals (
    signal_id VARCHAR,
    symbol SYMBOL,
    side SYMBOL,
    price DOUBLE,
    timestamp TIMESTAMP
) TIMESTAMP(timestamp) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(timestamp, signal_id);
