"""Webhook intake: validates a message and announces it."""

import json

from relay.bus import Bus
from relay.clock import new_id, utc_now
from relay.store import Store


class Ingest:
    def __init__(self, bus: Bus, store: Store) -> None:
        self.bus = bus
        self.store = store

    async def receive(self, source: str, raw: bytes) -> str:
        body = json.loads(raw)
        message = {"message_id": new_id(), "source": source, "text": str(body.get("text", "")),
                   "tags": list(body.get("tags", [])), "received_at": utc_now().isoformat()}
        await self.store.save_message(message["message_id"], source, json.dumps(body), utc_now())
        await self.bus.publish("message.received", message)
        return message["message_id"]
