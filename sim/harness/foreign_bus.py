"""Observing the bus of an app written without simwire in mind (a target's ``ObservedBus``).

Such a bus has no observer hooks: a target reads its handler table instead (never changing what
the app sees) and tells the driver's observers what changed.  Both pieces every such target
needs are here, so two targets never name a handler or diff a table two ways:
:class:`Subscription` names a handler for the registry (``component:role``: the class of the
bound handler, the role the registry gives that class on the topic), and
:class:`SubscriptionTable` keeps the subscriptions last seen per topic and reports the
difference as ``on_subscribe``/``on_unsubscribe``.  ``examples/signalbot/target.py`` and
``examples/relay/target.py`` use them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subscription:
    """One handler on a foreign bus, named for the registry (``component:role``)."""

    topic: str
    component: str
    role: str

    @property
    def name(self) -> str:
        return f"{self.component}:{self.role}"

    @classmethod
    def of(cls, topic: str, handler: Callable[..., Any], registry: Any) -> Subscription:
        """The class of a bound handler (or the function's qualified name) and the role the
        registry declares for that class on ``topic`` (else the handler's own name)."""
        owner = getattr(handler, "__self__", None)
        component = type(owner).__name__ if owner is not None else getattr(handler, "__qualname__", repr(handler))
        declared = registry.topics.get(topic)
        roles = [c.role for c in declared.consumers if c.component == component] if declared else []
        return cls(topic, component, roles[0] if roles else getattr(handler, "__name__", "handler"))


class SubscriptionTable:
    """The subscriptions last seen on each topic, and the observers told of every change."""

    def __init__(self) -> None:
        self.observers: list[Any] = []
        self.live: dict[str, tuple[Subscription, ...]] = {}

    def all(self) -> tuple[Subscription, ...]:
        return tuple(s for subscriptions in self.live.values() for s in subscriptions)

    def update(self, handlers: Mapping[str, Iterable[Any]], name: Callable[[str, Any], Subscription]) -> None:
        """Read the bus's ``topic -> handlers`` table; tell the observers of every subscription
        gone (``on_unsubscribe``) and new (``on_subscribe``) since the last look."""
        for topic in sorted(set(handlers) | set(self.live)):
            now = tuple(name(topic, handler) for handler in handlers.get(topic, ()))
            before = self.live.get(topic, ())
            if now == before:
                continue
            self.live[topic] = now
            for gone in [s for s in before if s not in now]:
                for observer in self.observers:
                    observer.on_unsubscribe(gone)
            for new in [s for s in now if s not in before]:
                for observer in self.observers:
                    observer.on_subscribe(new)
