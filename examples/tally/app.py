"""The tally service: meters -> readings -> aggregator -> totals; a store persists both."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import anyio

from examples.tally.bus import Bus, Subscription

READING = "reading"
TOTAL = "total"
TOTAL_EVERY = 10
"""Readings per meter between two published totals."""

INSERT_READING = "INSERT INTO readings (reading_id, meter, value, at) VALUES ($1, $2, $3, $4)"
INSERT_TOTAL = "INSERT INTO totals (meter, count, total, at) VALUES ($1, $2, $3, $4)"


class Meter:
    """Publishes one reading every ``period`` seconds until ``until`` (clock seconds)."""

    def __init__(self, name: str, bus: Bus, clock: Any, ids: Any, random: Any, period: float) -> None:
        self.name, self.bus, self.clock, self.ids, self.random, self.period = name, bus, clock, ids, random, period

    async def run(self, until: float) -> None:
        while self.clock.monotonic() + self.period <= until:
            await self.clock.sleep(self.period)
            await self.bus.publish(READING, {
                "reading_id": self.ids.new_id("reading"), "meter": self.name,
                "value": round(self.random.uniform(0.0, 10.0), 6), "at": self.clock.now().timestamp(),
            })


class Aggregator:
    """Keeps a running total per meter and publishes it every ``TOTAL_EVERY`` readings."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.totals: dict[str, tuple[int, float]] = {}
        self._subscription: Subscription | None = None

    def start(self) -> None:
        self._subscription = self.bus.subscribe(READING, self.on_reading, component="Aggregator", role="aggregate")

    def stop(self) -> None:
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
            self._subscription = None

    async def on_reading(self, reading: Mapping[str, Any]) -> None:
        count, total = self.totals.get(reading["meter"], (0, 0.0))
        count, total = count + 1, round(total + reading["value"], 6)
        self.totals[reading["meter"]] = (count, total)
        if count % TOTAL_EVERY == 0:
            await self.bus.publish(TOTAL, {"meter": reading["meter"], "count": count, "total": total,
                                           "at": reading["at"]})


class Store:
    """Writes every reading and every total (the record the oracles read back)."""

    def __init__(self, bus: Bus, database: Any) -> None:
        self.bus, self.database = bus, database
        self._subscriptions: list[Subscription] = []

    def start(self) -> None:
        self._subscriptions = [
            self.bus.subscribe(READING, self.on_reading, component="Store", role="persistence"),
            self.bus.subscribe(TOTAL, self.on_total, component="Store", role="persistence"),
        ]

    def stop(self) -> None:
        for subscription in self._subscriptions:
            self.bus.unsubscribe(subscription)
        self._subscriptions = []

    async def on_reading(self, reading: Mapping[str, Any]) -> None:
        async with self.database.acquire() as connection:
            await connection.execute(INSERT_READING, reading["reading_id"], reading["meter"], reading["value"],
                                     _timestamp(reading["at"]))

    async def on_total(self, total: Mapping[str, Any]) -> None:
        async with self.database.acquire() as connection:
            await connection.execute(INSERT_TOTAL, total["meter"], total["count"], total["total"],
                                     _timestamp(total["at"]))


def _timestamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)  # TIMESTAMP parameters are naive UTC


class TallyService:
    """The whole service, built from ports."""

    def __init__(self, *, clock: Any, ids: Any, random: Any, database: Any, meters: tuple[str, ...],
                 period: float = 60.0) -> None:
        self.clock = clock
        self.bus = Bus()
        self.aggregator = Aggregator(self.bus)
        self.store = Store(self.bus, database)
        self.meters = [Meter(name, self.bus, clock, ids, random, period) for name in meters]

    def start(self) -> None:
        self.store.start()
        self.aggregator.start()

    async def run_for(self, seconds: float) -> None:
        until = self.clock.monotonic() + seconds
        async with anyio.create_task_group() as group:
            for meter in self.meters:
                group.start_soon(meter.run, until)

    def stop(self) -> None:
        self.aggregator.stop()
        self.store.stop()
