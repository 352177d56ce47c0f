-- The exchange id moved into the order's metadata together with the other venue details.
ALTER TABLE orders DROP COLUMN exchange_order_id;
