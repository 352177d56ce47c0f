"""In-process event bus: topics to async handlers."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].append(handler)

    async def unsubscribe(self, topic: str, handler: Handler) -> None:
        self._handlers[topic].remove(handler)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        results = await asyncio.gather(*(h(payload) for h in self._handlers[topic]), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.error("handler for %s failed: %s", topic, result)
