-- Protective levels set when a position is opened.
ALTER TABLE positions ADD COLUMN stop_loss DOUBLE;
ALTER TABLE positions ADD COLUMN take_profit DOUBLE;
