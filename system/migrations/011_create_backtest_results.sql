-- Summary figures per backtest, computed at the end of a run.
CREATE TABLE backtest_results (
    session_id SYMBOL,
    strategy_id SYMBOL,
    timestamp TIMESTAMP,
    total_return DOUBLE,
    max_drawdown DOUBLE,
    trades LONG
) timestamp(timestamp) PARTITION BY DAY WAL;
