"""Market feed: polls the exchange ticker and publishes every price."""

import asyncio
import time
from typing import Any

from signalbot.bus import EventBus


class MarketFeed:
    def __init__(self, event_bus: EventBus, exchange: Any, symbols: list[str], interval: float = 1.0) -> None:
        self.event_bus = event_bus
        self.exchange = exchange
        self.symbols = symbols
        self.interval = interval
        self._running = False

    async def run(self) -> None:
        self._running = True
        while self._running:
            for symbol in self.symbols:
                ticker = await self.exchange.fetch_ticker(symbol)
                await self.event_bus.publish("price_updated", {
                    "symbol": symbol,
                    "price": float(ticker["last"]),
                    "timestamp": time.time(),
                })
            await asyncio.sleep(self.interval)

    def stop(self) -> None:
        self._running = False
