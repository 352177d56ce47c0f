"""The archive: every message and every delivery, in PostgreSQL."""

from datetime import datetime
from typing import Any

SAVE_MESSAGE = """
    INSERT INTO messages (message_id, source, body, received_at)
    VALUES ($1, $2, $3, $4)
"""
SAVE_DELIVERY = "INSERT INTO deliveries (message_id, channel, delivered_at) VALUES ($1, $2, $3)"
BY_CHANNEL = "SELECT message_id, body FROM messages WHERE channel = $1 ORDER BY received_at DESC LIMIT $2"
PRUNE = "DELETE FROM deliveries WHERE delivered_at < $1"


class Store:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def save_message(self, message_id: str, source: str, body: str, received_at: datetime) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SAVE_MESSAGE, message_id, source, body, received_at)

    async def save_delivery(self, message_id: str, channel: str, delivered_at: datetime) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(SAVE_DELIVERY, message_id, channel, delivered_at)

    async def by_channel(self, channel: str, limit: int = 50) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            return [dict(row) for row in await conn.fetch(BY_CHANNEL, channel, limit)]

    async def prune(self, before: datetime) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(PRUNE, before)
