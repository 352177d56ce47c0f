"""Dependency container: one factory per component, wired once at start-up."""

from typing import Any

from signalbot.bus import EventBus
from signalbot.feed import MarketFeed
from signalbot.orders import OrderManager
from signalbot.persistence import PersistenceService
from signalbot.strategy import SignalEngine


class Container:
    def __init__(self, config: dict[str, Any], exchange: Any, pool: Any) -> None:
        self.config = config
        self.exchange = exchange
        self.pool = pool
        self.event_bus = EventBus()

    def create_feed(self) -> MarketFeed:
        return MarketFeed(self.event_bus, self.exchange, self.config["symbols"], self.config.get("interval", 1.0))

    def create_signal_engine(self) -> SignalEngine:
        return SignalEngine(self.event_bus, self.config.get("fast", 5), self.config.get("slow", 20))

    def create_order_manager(self) -> OrderManager:
        return OrderManager(self.event_bus, self.exchange, self.config["budget"])

    def create_persistence(self) -> PersistenceService:
        return PersistenceService(self.event_bus, self.pool)
