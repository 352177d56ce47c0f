-- One row per trading session (backtest, paper, live); status follows the state machine.
CREATE TABLE sessions (
    session_id SYMBOL,
    mode SYMBOL,
    status SYMBOL,
    symbols STRING,
    started_at TIMESTAMP,
    stopped_at TIMESTAMP
) timestamp(started_at) PARTITION BY DAY WAL
DEDUP UPSERT KEYS(started_at, session_id);
