-- Free-form JSON details on every trading row.
ALTER TABLE strategy_signals ADD COLUMN metadata STRING;
ALTER TABLE orders ADD COLUMN metadata STRING;
ALTER TABLE positions ADD COLUMN metadata STRING;
