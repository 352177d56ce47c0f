"""Wiring: one bus, one store, the components, and the web entry point."""

import asyncio
from datetime import timedelta
from typing import Any

from relay.bus import Bus
from relay.clock import utc_now
from relay.ingest import Ingest
from relay.router import Notifier, Router
from relay.store import Store


class App:
    def __init__(self, pool: Any, sender: Any, routes: dict[str, list[str]]) -> None:
        self.bus = Bus()
        self.store = Store(pool)
        self.ingest = Ingest(self.bus, self.store)
        self.router = Router(self.bus, self.store, routes)
        self.notifier = Notifier(self.bus, sender)

    async def prune_forever(self, keep_days: int = 30, every: float = 3600.0) -> None:
        while True:
            await self.store.prune(utc_now() - timedelta(days=keep_days))
            await asyncio.sleep(every)
