-- Indicator values were persisted per tick while indicators were computed in batch jobs.
CREATE TABLE indicator_values (
    symbol SYMBOL capacity 256 CACHE,
    indicator SYMBOL,
    timestamp TIMESTAMP,
    value DOUBLE
) timestamp(timestamp) PARTITION BY DAY WAL;
