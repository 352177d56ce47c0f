-- One row per meter reading; a reading is written once (dedup on its id and time).
CREATE TABLE readings (
    reading_id SYMBOL,
    meter SYMBOL,
    value DOUBLE,
    at TIMESTAMP
) timestamp(at) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(at, reading_id);
