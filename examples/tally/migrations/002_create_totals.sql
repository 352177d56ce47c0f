-- A running total per meter, written every TOTAL_EVERY readings.
CREATE TABLE totals (
    meter SYMBOL,
    count LONG,
    total DOUBLE,
    at TIMESTAMP
) timestamp(at) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(at, meter);
