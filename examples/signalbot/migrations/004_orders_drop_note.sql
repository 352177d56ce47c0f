-- Notes moved to the exchange's client order tag; clear them before dropping the column.
UPDATE orders SET note = NULL WHERE note IS NOT NULL;
ALTER TABLE orders DROP COLUMN note;
VACUUM TABLE orders;
