-- The exchange feed reports turnover in the quote currency; VWAP needs it.
ALTER TABLE market_data ADD COLUMN quote_volume DOUBLE;
