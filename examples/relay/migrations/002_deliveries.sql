CREATE TABLE IF NOT EXISTS deliveries (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (message_id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_channel ON deliveries (channel, delivered_at DESC);
