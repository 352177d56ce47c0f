-- Results are derived from orders and positions per session_id; the summary table drifted.
DROP TABLE backtest_results;
