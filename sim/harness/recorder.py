"""EventRecorder: a bus observer that keeps what the end-of-run oracles need.

It stores references to payloads (no copies) for the low-volume trading topics, both per topic
and in publish order (``timeline``: the reference model pairs each fill with the position event
it caused), a compact ``(symbol, seq, timestamp, price, volume)`` tuple per market tick, and
every ``INDICATOR_SAMPLE_EVERY``-th ``indicator.updated`` payload (the reference model
recomputes those values), so recording costs little on the hot path.

With ``delivery_orders`` set (exploration does: ``run_scenario(coverage=True)``) it also keeps a
:class:`DeliveryOrders`, the fingerprints of the order in which the bus delivered.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from sim.harness.timeline import DataTimeline
from system import topics

_TICK, _INDICATORS = topics.MARKET_PRICE_UPDATE, topics.INDICATOR_UPDATED

INDICATOR_SAMPLE_EVERY = 127
"""Keep one indicator update in this many: prime, so with a few symbols published in turn
every symbol is sampled, at many phases of its data."""


class EventRecorder:
    def __init__(self) -> None:
        self.events: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
        self.ticks: defaultdict[str, list[tuple[str, int, float, float, float]]] = defaultdict(list)
        self.timeline: list[tuple[str, Mapping[str, Any]]] = []
        self.indicator_samples: list[Mapping[str, Any]] = []
        self._indicator_updates = 0
        self.counts: Counter[str] = Counter()
        self.handler_errors: list[tuple[str, str, BaseException]] = []
        self.delivery_orders: DeliveryOrders | None = None
        self.data_timeline = DataTimeline()
        """The data time of each kernel step (sim.harness.timeline): a bus observer of its own,
        attached by the session only to a run that records its full trace."""

    def clear(self) -> None:
        """Forget every event, keeping what is collected: the kernel may run the same driver's
        ``main`` again (a replay that locates never-awaited coroutines), and a record of both
        runs would count each event twice."""
        collect_orders = self.delivery_orders is not None
        self.__init__()  # type: ignore[misc]
        if collect_orders:
            self.delivery_orders = DeliveryOrders()

    # -- bus observer protocol --------------------------------------------------------------

    def on_subscribe(self, subscription: Any) -> None:
        pass

    def on_unsubscribe(self, subscription: Any) -> None:
        pass

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        counts = self.counts
        counts[topic] = counts.get(topic, 0) + 1  # not Counter's __missing__ path: this runs per tick
        if self.delivery_orders is not None:
            self.delivery_orders.see(topic, subscribers)
        if topic == _TICK:
            get = payload.get
            self.ticks[get("session_id")].append(
                (get("symbol"), get("seq"), get("timestamp"), get("price"), get("volume")))
        elif topic == _INDICATORS:
            self._indicator_updates += 1
            if self._indicator_updates % INDICATOR_SAMPLE_EVERY == 0:
                self.indicator_samples.append(payload)
        else:
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


class DeliveryOrders:
    """Fingerprints of the bus's delivery order, for exploration's coverage.

    Each publish is ``crc32("topic>component:role,...")`` (its subscribers in delivery order),
    in ``[0, 2**32)``; each pair of consecutive publishes (the previous fingerprint, then this
    one: how deliveries interleave across topics and sessions) is ``(previous + 1) << 32 | this``,
    at or above ``2**32``, so the two kinds never collide.  Stable across processes (no salted
    ``hash()``), so sets from many runs can be united.  The bus's subscriber tuples are
    copy-on-write, so a topic's tuple is the same object until a subscription changes: each
    topic's fingerprint is kept with the tuple it was made from, and made again only then.
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self._current: dict[str, tuple[tuple[Any, ...], int]] = {}
        self._previous = -1

    def see(self, topic: str, subscribers: tuple[Any, ...]) -> None:
        current = self._current.get(topic)
        if current is not None and current[0] is subscribers:
            fingerprint = current[1]
        else:
            names = ",".join(getattr(s, "name", "?") for s in subscribers)
            fingerprint = zlib.crc32(f"{topic}>{names}".encode())
            self._current[topic] = (subscribers, fingerprint)
        self.seen.add(fingerprint)
        if self._previous >= 0:
            self.seen.add((self._previous + 1) << 32 | fingerprint)
        self._previous = fingerprint
