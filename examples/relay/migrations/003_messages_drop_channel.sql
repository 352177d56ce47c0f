-- A message can go to several channels: deliveries holds them now.
INSERT INTO deliveries (message_id, channel, delivered_at)
    SELECT message_id, channel, received_at FROM messages WHERE channel IS NOT NULL;
ALTER TABLE messages DROP COLUMN channel;
