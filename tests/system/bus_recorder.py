"""Test helper shared by the indicator, strategy and order tests: record what a bus carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from system.bus import EventBus, Subscription


class Recorder:
    """Subscribes to topics as component ``TestRecorder`` and keeps every payload in order.

    It is also a bus observer, so the errors the bus isolates from publishers (a handler that
    raised) are kept in ``errors`` for a test to assert on.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[tuple[str, BaseException]] = []

    async def attach(self, bus: EventBus, *topic_names: str) -> Recorder:
        for topic in topic_names:
            async def handler(payload: dict[str, Any], topic: str = topic) -> None:
                self.events.append((topic, payload))
            await bus.subscribe(topic, handler, component="TestRecorder", role="recorder")
        bus.add_observer(self)
        return self

    def on_subscribe(self, subscription: Subscription) -> None:
        pass

    def on_unsubscribe(self, subscription: Subscription) -> None:
        pass

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Subscription, ...]) -> None:
        pass

    def on_handler_error(self, subscription: Subscription, topic: str, payload: Mapping[str, Any],
                         error: BaseException) -> None:
        self.errors.append((subscription.name, error))

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.events if name == topic]

    def topics(self) -> list[str]:
        return [name for name, _ in self.events]
