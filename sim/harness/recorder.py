"""EventRecorder: a bus observer that keeps what the end-of-run oracles need.

It stores references to payloads (no copies) for the low-volume trading topics and a compact
``(symbol, seq, timestamp)`` tuple per market tick, so recording costs little on the hot path.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from system import topics


class EventRecorder:
    def __init__(self) -> None:
        self.events: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
        self.timeline: list[tuple[str, Mapping[str, Any]]] = []
        """The same non-tick events in publish order (behaviour snapshots show the sequencing)."""
        self.ticks: defaultdict[str, list[tuple[str, int, float]]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.handler_errors: list[tuple[str, str, BaseException]] = []

    # -- bus observer protocol --------------------------------------------------------------

    def on_subscribe(self, subscription: Any) -> None:
        pass

    def on_unsubscribe(self, subscription: Any) -> None:
        pass

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        self.counts[topic] += 1
        if topic == topics.MARKET_PRICE_UPDATE:
            self.ticks[payload.get("session_id")].append(
                (payload.get("symbol"), payload.get("seq"), payload.get("timestamp"))
            )
        elif topic != topics.INDICATOR_UPDATED:
            self.events[topic].append(payload)
            self.timeline.append((topic, payload))

    def on_handler_error(self, subscription: Any, topic: str, payload: Mapping[str, Any],
                         error: BaseException) -> None:
        self.handler_errors.append((topic, getattr(subscription, "name", "?"), error))

    # -- queries ----------------------------------------------------------------------------

    def of(self, topic: str, session_id: str | None = None) -> list[Mapping[str, Any]]:
        events = self.events.get(topic, [])
        if session_id is None:
            return list(events)
        return [e for e in events if e.get("session_id") == session_id]
