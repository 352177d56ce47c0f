-- Raw ticker prices, one row per poll.
CREATE TABLE IF NOT EXISTS prices (
    symbol SYMBOL CAPACITY 256 CACHE,
    price DOUBLE,
    timestamp TIMESTAMP
) TIMESTAMP(timestamp) PARTITION BY DAY WAL;

ALTER TABLE prices ALTER COLUMN symbol ADD INDEX;
