-- Indicators are now streamed and kept in memory (StreamingIndicatorEngine); the per-tick
-- table grew faster than anything else and nothing read it.
DROP TABLE indicator_values;
