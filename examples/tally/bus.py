"""A minimal in-process event bus with observer hooks (the shape simwire's driver observes)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Handler = Callable[[Mapping[str, Any]], Awaitable[None]]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    topic: str
    handler: Handler
    component: str
    role: str

    @property
    def name(self) -> str:
        return f"{self.component}:{self.role}"


class Observer(Protocol):
    def on_subscribe(self, subscription: Subscription) -> None: ...
    def on_unsubscribe(self, subscription: Subscription) -> None: ...
    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Subscription, ...]) -> None: ...
    def on_handler_error(self, subscription: Subscription, topic: str, payload: Mapping[str, Any],
                         error: BaseException) -> None: ...


class Bus:
    """Handlers run one after the other, in subscription order; a failing handler is isolated
    (logged and reported to observers) so one bad consumer does not stop the others."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._observers: list[Observer] = []

    def add_observer(self, observer: Observer) -> None:
        self._observers.append(observer)

    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    def subscribe(self, topic: str, handler: Handler, *, component: str, role: str) -> Subscription:
        subscription = Subscription(topic, handler, component, role)
        self._subscriptions.append(subscription)
        for observer in self._observers:
            observer.on_subscribe(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            for observer in self._observers:
                observer.on_unsubscribe(subscription)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        subscribers = tuple(s for s in self._subscriptions if s.topic == topic)
        for observer in self._observers:
            observer.on_publish(topic, payload, subscribers)
        for subscription in subscribers:
            try:
                await subscription.handler(payload)
            except Exception as error:  # isolated: reported, the other handlers still run
                log.warning("%s failed on %s: %r", subscription.name, topic, error)
                for observer in self._observers:
                    observer.on_handler_error(subscription, topic, payload, error)
