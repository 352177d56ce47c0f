"""Order manager: turns signals into orders sized by confidence."""

import uuid
from datetime import UTC, datetime
from typing import Any

from signalbot.bus import EventBus


class OrderManager:
    def __init__(self, event_bus: EventBus, exchange: Any, budget: float) -> None:
        self.event_bus = event_bus
        self.exchange = exchange
        self.budget = budget
        self.open_orders: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        await self.event_bus.subscribe("signal_generated", self._on_signal)

    async def _on_signal(self, signal: dict[str, Any]) -> None:
        quantity = round(self.budget * signal["confidence"] / signal["price"], 6)
        order = {
            "order_id": str(uuid.uuid4()),
            "signal_id": signal["signal_id"],
            "symbol": signal["symbol"],
            "side": signal["side"],
            "quantity": quantity,
            "price": signal["price"],
            "created_at": datetime.now(UTC).isoformat(),
        }
        await self.exchange.create_order(order["symbol"], "market", order["side"].lower(), quantity)
        self.open_orders[order["order_id"]] = order
        await self.event_bus.publish("order_created", order)
