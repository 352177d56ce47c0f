"""Routing: each tag maps to channels; every delivery is announced and archived."""

from datetime import UTC, datetime
from typing import Any

from relay.bus import Bus
from relay.store import Store


class Router:
    def __init__(self, bus: Bus, store: Store, routes: dict[str, list[str]]) -> None:
        self.bus = bus
        self.store = store
        self.routes = routes
        bus.subscribe("message.received", self.on_message)

    async def on_message(self, message: dict[str, Any]) -> None:
        channels = sorted({c for tag in message["tags"] for c in self.routes.get(tag, [])})
        for channel in channels:
            delivered_at = datetime.now(UTC)
            self.store.save_delivery(message["message_id"], channel, delivered_at)
            await self.bus.publish("message.routed", {"message_id": message["message_id"], "channel": channel,
                                                      "text": message["text"]})


class Notifier:
    def __init__(self, bus: Bus, sender: Any) -> None:
        self.sender = sender
        self.sent = 0
        bus.subscribe("message.routed", self.on_routed)

    async def on_routed(self, routed: dict[str, Any]) -> None:
        prefix = "[!] " if routed["priority"] == "high" else ""
        await self.sender.send(routed["channel"], prefix + routed["text"])
        self.sent += 1
