-- Make a session reproducible from its row: starting balance and the full configuration (JSON).
ALTER TABLE sessions ADD COLUMN initial_balance DOUBLE;
ALTER TABLE sessions ADD COLUMN config STRING;
