-- Mark-to-market and realised profit per position.
ALTER TABLE positions ADD COLUMN unrealized_pnl DOUBLE;
ALTER TABLE positions ADD COLUMN realized_pnl DOUBLE;
