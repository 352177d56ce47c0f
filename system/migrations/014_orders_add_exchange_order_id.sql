-- Live trading: remember the exchange's id of each order.
ALTER TABLE orders ADD COLUMN exchange_order_id STRING;
