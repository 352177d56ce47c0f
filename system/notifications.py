"""NotificationService: tells people when a session changes state.  Optional.

A stand-in for e-mail or chat alerts: it writes one INFO line per state change to the
``system.notifications`` logger, where a log shipper can pick it up.  Trading never depends
on it, so the container creates it only when ``SystemConfig.notifications_enabled`` is set
and returns ``None`` (with the reason logged) otherwise: the container's *optional* policy.
"""

from __future__ import annotations

import logging

from system import topics
from system.bus import EventBus, Payload, Subscription

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._subscription: Subscription | None = None
        self.sent = 0

    async def start(self) -> None:
        if self._subscription is None:
            self._subscription = await self._bus.subscribe(
                topics.SESSION_STATE_CHANGED, self._on_state_changed,
                component="NotificationService", role="notification")

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await self._bus.unsubscribe(subscription)

    async def _on_state_changed(self, payload: Payload) -> None:
        log.info("session %s (%s): %s -> %s", payload.get("session_id"), payload.get("mode"),
                 payload.get("old_state"), payload.get("new_state"))
        self.sent += 1
