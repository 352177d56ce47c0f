-- First cut of the order log (paper trading only at the time).
CREATE TABLE orders (
    order_id SYMBOL,
    strategy_id SYMBOL,
    symbol SYMBOL,
    side SYMBOL,
    order_type SYMBOL,
    timestamp TIMESTAMP,
    quantity DOUBLE,
    price DOUBLE,
    status SYMBOL
) timestamp(timestamp) PARTITION BY DAY WAL;
