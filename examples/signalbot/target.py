"""signalbot as a simwire target: ``simwire run --target examples.signalbot.target:TARGET --mode live``.

The bot is driven exactly as shipped: not one line of ``signalbot/`` changes.  Its ``Container``
is built from the world's ports (the simulated QuestDB, migrated with the app's migrations minus
the rollback its ``[tool.simwire.migrations]`` excludes, as the pool) and a simulated exchange
(a seeded random walk per symbol, ccxt-shaped), its components are started as ``signalbot.main``
starts them, and the feed runs for ``spec.hours`` of virtual time.  The bot's ``time.time()``,
``datetime.now()``, ``uuid.uuid4()`` and ``asyncio.sleep()`` are virtualized by the kernel.

Two choices, both forced by the planted defects of the README (which ``simwire check`` finds):

* ``PersistenceService.start`` is not called.  It calls the async ``subscribe`` without
  ``await`` (planted defect 3), so on the shipped app it subscribes nothing either way; calling
  it would make every run report ``kernel.unawaited`` for that line.  The service is still built
  by its factory.
* signalbot's ``EventBus`` has no observer hooks, so this target subscribes one recorder handler
  per registry topic (through the bus's own ``subscribe``) and reports each publish to the
  driver's observers from there.  The recorder is a real consumer of the bus, declared in the
  target's registry (``RECORDER``): ``price_updated`` has no other (planted defect 1), so the
  monitor's ``contract.dead-letter`` does not fire for it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import random
import sys
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio

from contracts.migrations import migration_files
from contracts.registry import Consumer, Registry
from sim.harness.foreign_bus import Subscription, SubscriptionTable
from sim.harness.oracles import RunFacts, handler_errors
from sim.harness.targets import BaseTarget, Ports, SessionRecord, finding
from sim.kernel.virtual_stdlib import EPOCH
from simwire.violation import Violation

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the app imports itself as top-level `signalbot` (its own project root)
    sys.path.insert(0, str(HERE))

from signalbot.container import Container  # noqa: E402
from signalbot_contracts import REGISTRY as APP_REGISTRY  # noqa: E402

RECORDER = Consumer("SimwireRecorder", "record")
"""The target's own subscriber on every topic (the bus has no observer hooks)."""

BUDGET = 1000.0
"""The order budget in the bot's config (only used on its order path)."""


def _with_recorder(registry: Registry) -> Registry:
    topics = {name: dataclasses.replace(topic, consumers=(*topic.consumers, RECORDER))
              for name, topic in registry.topics.items()}
    return dataclasses.replace(registry, name=f"{registry.name} (target)", topics=topics)


REGISTRY = _with_recorder(APP_REGISTRY)


def app_migrations() -> list[Path]:
    """The app's migration files as its ``[tool.simwire.migrations]`` selects them (the rollback
    sharing number 004 excluded)."""
    config = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["simwire"]["migrations"]
    files, problems = migration_files([HERE / path for path in config["paths"]], exclude=config.get("exclude", ()),
                                      order=config.get("order", ()))
    if problems:
        raise problems[0]
    return [file.path for file in files]


# --- the simulated exchange -------------------------------------------------------------------


class SimExchange:
    """The part of a ccxt exchange signalbot calls: ``fetch_ticker`` and ``create_order``.

    Each symbol's last price is a seeded random walk (one stream per symbol, from the spec's data
    seed, so polling fewer symbols does not shift the others' prices).  Everything served is kept
    for the oracles: ``(symbol, last, virtual seconds)`` per ticker, each order placed."""

    def __init__(self, symbols: tuple[str, ...], seed: int, clock: Any, ids: Any) -> None:
        self.clock, self.ids = clock, ids
        self._walks = {symbol: random.Random(f"signalbot-market:{seed}:{symbol}") for symbol in symbols}
        self._last = {symbol: round(walk.uniform(10.0, 1000.0), 4) for symbol, walk in self._walks.items()}
        self.tickers: list[tuple[str, float, float]] = []
        self.orders: list[dict[str, Any]] = []

    async def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        walk = self._walks[symbol]
        last = self._last[symbol] = round(self._last[symbol] * math.exp(walk.gauss(0.0, 0.002)), 4)
        spread = last * 0.0005
        self.tickers.append((symbol, last, self.clock.monotonic()))
        return {"symbol": symbol, "last": last, "bid": round(last - spread, 4), "ask": round(last + spread, 4),
                "timestamp": int(self.clock.now().timestamp() * 1000)}

    async def create_order(self, symbol: str, kind: str, side: str, amount: float) -> dict[str, Any]:
        order = {"id": self.ids.new_id("exchange_order"), "symbol": symbol, "type": kind, "side": side,
                 "amount": amount, "at": self.clock.monotonic()}
        self.orders.append(order)
        return order


# --- the bus, observed ------------------------------------------------------------------------


class ObservedBus:
    """The driver's view of signalbot's ``EventBus`` (``add_observer``, ``subscriptions``).

    Publishes are seen by a recorder handler subscribed to each topic; the app's own
    subscriptions are read (never changed) from the bus's handler table, named by the class
    of the bound handler and the role the registry gives that class on the topic.  Handler
    failures, which the bus only logs, are taken from that log."""

    def __init__(self, bus: Any, registry: Registry) -> None:
        self.bus, self.registry = bus, registry
        self._table = SubscriptionTable()
        self._observers = self._table.observers
        self._recorders: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {}
        self._last_payload: dict[str, Mapping[str, Any]] = {}

    def add_observer(self, observer: Any) -> None:
        self._observers.append(observer)

    def subscriptions(self) -> tuple[Subscription, ...]:
        self.sync()
        return self._table.all()

    async def attach(self) -> None:
        for topic in self.registry.topics:
            async def record(payload: dict[str, Any], topic: str = topic) -> None:
                self._on_publish(topic, payload)
            self._recorders[topic] = record
            await self.bus.subscribe(topic, record)
        self.sync()

    async def detach(self) -> None:
        for topic, record in self._recorders.items():
            await self.bus.unsubscribe(topic, record)
        self._recorders = {}
        self.sync()

    def sync(self) -> None:
        """Tell the observers of every (un)subscription since the last look."""
        self._table.update(self.bus._handlers, self._subscription)  # read only: the bus has no other view

    def handler_failed(self, topic: str, error: BaseException) -> None:
        # the bus's log does not say which handler failed: named when the topic has one app handler
        app = [s for s in self._table.live.get(topic, ()) if s.component != RECORDER.component]
        culprit = app[0] if len(app) == 1 else Subscription(topic, "signalbot", "handler")
        for observer in self._observers:
            observer.on_handler_error(culprit, topic, self._last_payload.get(topic, {}), error)

    def _subscription(self, topic: str, handler: Any) -> Subscription:
        if any(handler is record for record in self._recorders.values()):
            return Subscription(topic, RECORDER.component, RECORDER.role)
        return Subscription.of(topic, handler, self.registry)

    def _on_publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.sync()
        self._last_payload[topic] = payload
        subscribers = self._table.live.get(topic, ())
        for observer in self._observers:
            observer.on_publish(topic, payload, subscribers)


class _BusLog(logging.Handler):
    """signalbot's bus logs a failed handler (``handler for %s failed: %s``) and carries on."""

    def __init__(self, bus: ObservedBus) -> None:
        super().__init__(logging.ERROR)
        self.observed = bus

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == "handler for %s failed: %s" and len(args) == 2 and isinstance(args[1], BaseException):
            self.observed.handler_failed(str(args[0]), args[1])


# --- the session ------------------------------------------------------------------------------


class SignalbotSystem:
    """The bot wired by its ``Container``, driven start -> run (``seconds`` of the feed) -> stop."""

    def __init__(self, ports: Ports, registry: Registry) -> None:
        spec = ports.spec
        self.clock, self.seconds = ports.clock, spec.hours * 3600
        self.interval = spec.tick_seconds
        self.exchange = SimExchange(spec.symbols, spec.market_seed, ports.clock, ports.ids)
        config = {"symbols": list(spec.symbols), "interval": self.interval, "budget": BUDGET}
        self.container = Container(config, self.exchange, ports.database)
        self.bus = ObservedBus(self.container.event_bus, registry)
        self.engine = self.container.create_signal_engine()
        self.orders = self.container.create_order_manager()
        self.persistence = self.container.create_persistence()  # built, not started: see the module doc
        self.feed = self.container.create_feed()
        self._log = _BusLog(self.bus)
        self._logger = logging.getLogger("signalbot.bus")

    async def start(self) -> None:
        self._logger.addHandler(self._log)
        await self.bus.attach()
        for component in (self.engine, self.orders):
            await component.start()
        self.bus.sync()

    async def run(self) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self.feed.run)
            await self.clock.sleep(self.seconds)
            self.feed.stop()  # the feed ends after its current round

    async def stop(self) -> None:
        self.feed.stop()
        await self.bus.detach()

    async def facts(self) -> dict[str, Any]:
        return {"tickers": list(self.exchange.tickers), "exchange_orders": list(self.exchange.orders),
                "symbols": list(self.feed.symbols), "interval": self.interval, "seconds": self.seconds}

    def row_scope(self) -> None:
        return None

    async def close(self) -> None:
        self._logger.removeHandler(self._log)


class SignalbotTarget(BaseTarget):
    name = "signalbot"
    modes = APP_REGISTRY.modes  # ("live",): a live-only bot
    tables = ("prices", "signals", "orders")
    kernels = ("asyncio",)  # asyncio.gather, asyncio.sleep
    simulated_only = "its exchange is simulated"

    def migrations(self) -> list[Path]:  # type: ignore[override]  # the selected files, not the directory
        return app_migrations()

    def registry(self) -> Registry:
        return REGISTRY

    async def build(self, ports: Ports) -> SignalbotSystem:
        return SignalbotSystem(ports, REGISTRY)

    def judge(self, record: SessionRecord) -> list[Violation]:
        """No handler raised, plus signalbot's own oracles.  The generic subscription-leak oracle is
        left out: the bot's components have no stop (a live bot ends with its process)."""
        facts = RunFacts([], record.recorder, record.tables, location=record.location)
        return [*handler_errors(facts), *feed_oracles(record), *order_oracles(record)]

    def summary(self, record: SessionRecord) -> dict[str, Any]:
        found = super().summary(record)
        found["polls"] = len(record.facts.get("tickers", []))
        found["exchange_orders"] = len(record.facts.get("exchange_orders", []))
        return found


def feed_oracles(record: SessionRecord) -> list[Violation]:
    """What the feed publishes is what the exchange served, stamped with the poll's time, for
    every symbol, once per interval, for the whole session."""
    found: list[Violation] = []
    facts = record.facts
    served: dict[str, list[tuple[float, float]]] = {symbol: [] for symbol in facts.get("symbols", [])}
    for symbol, last, at in facts.get("tickers", []):
        served.setdefault(symbol, []).append((last, at))
    published: dict[str, list[Mapping[str, Any]]] = {}
    for event in record.recorder.of("price_updated"):
        published.setdefault(event.get("symbol"), []).append(event)
    wrong_price, wrong_time = [], []
    for symbol, tickers in sorted(served.items()):
        events = published.get(symbol, [])
        if len(events) != len(tickers):
            found.append(finding("oracle.feed-price", f"{symbol}: {len(tickers)} tickers served, "
                                    f"{len(events)} prices published", record, "one price per ticker polled",
                                    f"{len(events)} / {len(tickers)}"))
        for (last, at), event in zip(tickers, events, strict=False):
            if event.get("price") != last:
                wrong_price.append(f"{symbol} at t={at:g}: {event.get('price')!r} for last {last}")
            stamp = event.get("timestamp")
            if not isinstance(stamp, int | float) or abs(stamp - (EPOCH + at)) > 1e-3:
                wrong_time.append(f"{symbol} at t={at:g}: {stamp!r}, polled at {EPOCH + at:.3f}")
    if wrong_price:
        found.append(finding("oracle.feed-price", f"{len(wrong_price)} published prices are not the "
                                "exchange's last price", record, "price == the ticker's last", wrong_price[0]))
    if wrong_time:
        found.append(finding("oracle.feed-timestamp", f"{len(wrong_time)} prices are not stamped with the "
                                "time of their poll", record, "timestamp == time.time() at the poll (seconds)",
                                wrong_time[0]))
    interval, seconds = facts.get("interval", 1.0), facts.get("seconds", 0.0)
    due = math.floor(seconds / interval + 1e-9)
    for symbol, tickers in sorted(served.items()):
        times = [at for _, at in tickers]
        gaps = sorted({round(b - a, 6) for a, b in itertools.pairwise(times)} - {round(interval, 6)})
        if len(times) < due or gaps:
            found.append(finding("oracle.feed-cadence", f"{symbol}: polled {len(times)} times over "
                                    f"{seconds:g} s at interval {interval:g}" + (f", gaps {gaps[:3]}" if gaps else ""),
                                    record, f"at least {due} polls, {interval:g} s apart",
                                    f"{len(times)} polls"))
    return found


def order_oracles(record: SessionRecord) -> list[Violation]:
    """Every order (announced or stored) names a signal that was published, and every order placed
    on the exchange was announced.  On the shipped bot nothing reaches the order path (planted
    defect 1), so these hold trivially there; they judge any run in which it does."""
    found: list[Violation] = []
    signals = {event.get("signal_id") for event in record.recorder.of("signal_generated")}
    announced = record.recorder.of("order_created")
    rows = record.tables.get("orders", [])
    orphans = [str(o.get("order_id")) for o in [*announced, *rows] if o.get("signal_id") not in signals]
    if orphans:
        found.append(finding("oracle.order-without-signal", f"{len(orphans)} orders name no published signal",
                                record, "every order's signal_id is a published signal", ", ".join(orphans[:3])))
    placed = len(record.facts.get("exchange_orders", []))
    if placed != len(announced):
        found.append(finding("oracle.order-unannounced", f"{placed} orders placed on the exchange, "
                                f"{len(announced)} order_created events", record,
                                "one order_created per order placed", f"{len(announced)} / {placed}"))
    return found


TARGET = SignalbotTarget()
