"""Persistence: every order into QuestDB through an asyncpg pool."""

import logging
from datetime import datetime
from typing import Any

from signalbot.bus import EventBus

log = logging.getLogger(__name__)

INSERT_ORDER = """
    INSERT INTO orders (order_id, signal_id, symbol, side, quantity, price, note, timestamp)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
RECENT_ORDERS = "SELECT order_id, symbol, side, price FROM orders WHERE symbol = $1 ORDER BY timestamp DESC LIMIT 20"


class PersistenceService:
    def __init__(self, event_bus: EventBus, pool: Any) -> None:
        self.event_bus = event_bus
        self.pool = pool

    async def start(self) -> None:
        self.event_bus.subscribe("order_created", self._on_order_created)

    async def _on_order_created(self, order: dict[str, Any]) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(INSERT_ORDER, order["order_id"], order["signal_id"], order["symbol"],
                               order["side"], order["quantity"], order["price"], "auto",
                               datetime.fromisoformat(order["created_at"]).replace(tzinfo=None))
        log.info("order %s stored", order["order_id"])

    async def recent_orders(self, symbol: str) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            return [dict(row) for row in await conn.fetch(RECENT_ORDERS, symbol)]
