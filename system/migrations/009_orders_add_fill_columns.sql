-- Fills are recorded on the order row itself (UPDATE by order_id).
ALTER TABLE orders ADD COLUMN filled_quantity DOUBLE;
ALTER TABLE orders ADD COLUMN filled_price DOUBLE;
ALTER TABLE orders ADD COLUMN commission DOUBLE;
