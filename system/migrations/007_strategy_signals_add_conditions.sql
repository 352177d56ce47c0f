-- Keep why a signal fired: the conditions and the indicator values (JSON text).
ALTER TABLE strategy_signals ADD COLUMN conditions_met STRING;
ALTER TABLE strategy_signals ADD COLUMN indicator_values STRING;
