-- First cut of the signal log: one row per strategy evaluation that fired.
CREATE TABLE strategy_signals (
    strategy_id SYMBOL,
    symbol SYMBOL,
    signal_type SYMBOL,
    timestamp TIMESTAMP,
    triggered BOOLEAN,
    action STRING
) timestamp(timestamp) PARTITION BY DAY WAL;
