CREATE TABLE IF NOT EXISTS orders (
    order_id VARCHAR,
    signal_id VARCHAR,
    symbol SYMBOL,
    side SYMBOL,
    quantity DOUBLE,
    price DOUBLE,
    note STRING,
    timestamp TIMESTAMP
) TIMESTAMP(timestamp) PARTITION BY DAY WAL;

ALTER TABLE orders DEDUP ENABLE UPSERT KEYS(timestamp, order_id);
ALTER TABLE orders SET TTL 90 DAYS;
