"""EventBus: named publish/subscribe with observer hooks.

Subscribers are named by *component* and *role* (``role="order_execution"``), so a
contract can say "in backtest, ``signal_generated`` must reach a live subscriber with role
``order_execution``" and a monitor can check it at every publish.

Dispatch is sequential and in subscription order: ``await publish(...)`` returns after every
handler subscribed *at the moment of the publish* has run.  A handler that raises does not
stop the others; the error is logged and handed to every observer (nothing is dropped
silently).  The subscriber list is copy-on-write, so subscribing or unsubscribing from inside
a handler never changes who receives the event being delivered.

Observers (``add_observer``) see every subscribe, unsubscribe, publish and handler error.
This is the protocol the runtime monitor of ``contracts`` attaches to; any bus offering these
four callbacks can be monitored the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[Payload], Awaitable[None]]


@dataclass(frozen=True, slots=True, eq=False)
class Subscription:
    """One handler on one topic.  ``sub_id`` is a per-bus counter (deterministic)."""

    topic: str
    handler: Handler
    component: str
    role: str
    sub_id: int

    @property
    def name(self) -> str:
        return f"{self.component}:{self.role}"


class BusObserver(Protocol):
    def on_subscribe(self, subscription: Subscription) -> None: ...

    def on_unsubscribe(self, subscription: Subscription) -> None: ...

    def on_publish(self, topic: str, payload: Mapping[str, Any],
                   subscribers: tuple[Subscription, ...]) -> None: ...

    def on_handler_error(self, subscription: Subscription, topic: str,
                         payload: Mapping[str, Any], error: BaseException) -> None: ...


class EventBusError(Exception):
    """Misuse of the bus: bad topic, bad payload, bad subscriber name."""


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, tuple[Subscription, ...]] = {}
        self._observers: tuple[BusObserver, ...] = ()
        self._next_id = 0
        self.handler_errors = 0

    # -- observers -------------------------------------------------------------------------

    def add_observer(self, observer: BusObserver) -> None:
        self._observers = (*self._observers, observer)

    def remove_observer(self, observer: BusObserver) -> None:
        self._observers = tuple(o for o in self._observers if o is not observer)

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, topic: str, handler: Handler, *, component: str, role: str) -> Subscription:
        _check_topic(topic)
        if not component or not role:
            raise EventBusError(f"subscriber to {topic!r} must be named: component={component!r} role={role!r}")
        if not callable(handler):
            raise EventBusError(f"handler for {topic!r} from {component} is not callable: {handler!r}")
        self._next_id += 1
        subscription = Subscription(topic, handler, component, role, self._next_id)
        self._subscribers[topic] = (*self._subscribers.get(topic, ()), subscription)
        for observer in self._observers:
            observer.on_subscribe(subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        current = self._subscribers.get(subscription.topic, ())
        remaining = tuple(s for s in current if s is not subscription)
        if len(remaining) == len(current):
            raise EventBusError(
                f"{subscription.name} is not subscribed to {subscription.topic!r} (double unsubscribe?)"
            )
        self._subscribers[subscription.topic] = remaining
        for observer in self._observers:
            observer.on_unsubscribe(subscription)

    def subscribers(self, topic: str) -> tuple[Subscription, ...]:
        return self._subscribers.get(topic, ())

    def subscriptions(self) -> tuple[Subscription, ...]:
        """Every live subscription, in subscription order (a stopped system should have none)."""
        return tuple(sorted((s for subs in self._subscribers.values() for s in subs), key=lambda s: s.sub_id))

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, topic: str, payload: Payload) -> None:
        if not isinstance(payload, dict):
            raise EventBusError(f"payload of {topic!r} must be a dict, got {type(payload).__name__}")
        subscribers = self._subscribers.get(topic, ())
        if not subscribers and topic not in self._subscribers:
            _check_topic(topic)
        for observer in self._observers:
            observer.on_publish(topic, payload, subscribers)
        for subscription in subscribers:
            try:
                await subscription.handler(payload)
            except Exception as error:  # one failing subscriber must not starve the others
                self.handler_errors += 1
                log.exception("bus.handler_error topic=%s subscriber=%s", topic, subscription.name)
                for observer in self._observers:
                    observer.on_handler_error(subscription, topic, payload, error)


def _check_topic(topic: object) -> None:
    if not isinstance(topic, str) or not topic:
        raise EventBusError(f"topic must be a non-empty string, got {topic!r}")
