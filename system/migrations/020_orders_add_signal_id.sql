-- Link every order to the signal that caused it (oracle: each actionable signal became an order).
ALTER TABLE orders ADD COLUMN signal_id SYMBOL;
