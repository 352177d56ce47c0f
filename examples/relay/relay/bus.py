"""A tiny topic bus: handlers are plain async callables, called in subscription order."""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class Bus:
    def __init__(self) -> None:
        self._topics: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._topics[topic].append(handler)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        for handler in list(self._topics[topic]):
            await handler(payload)
