"""Signal engine: a moving-average crossover per symbol."""

import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from signalbot.bus import EventBus


class SignalEngine:
    def __init__(self, event_bus: EventBus, fast: int = 5, slow: int = 20) -> None:
        self.event_bus = event_bus
        self.fast = fast
        self.slow = slow
        self.prices: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=slow))
        self.last_side: dict[str, str] = {}

    async def start(self) -> None:
        await self.event_bus.subscribe("price_update", self._on_price)

    async def _on_price(self, event: dict[str, Any]) -> None:
        window = self.prices[event["symbol"]]
        window.append(event["price"])
        if len(window) < self.slow:
            return
        fast = sum(list(window)[-self.fast:]) / self.fast
        slow = sum(window) / len(window)
        side = "BUY" if fast > slow else "SELL"
        if self.last_side.get(event["symbol"]) == side:
            return
        self.last_side[event["symbol"]] = side
        signal = {
            "signal_id": str(uuid.uuid4()),
            "symbol": event["symbol"],
            "side": side,
            "price": event["price"],
            "generated_at": datetime.now(UTC).isoformat(),
        }
        await self.event_bus.publish("signal_generated", signal)
