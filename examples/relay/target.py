"""relay as a simwire target: ``simwire run --target examples.relay.target:TARGET --mode live``.

The relay is driven exactly as shipped: not one line of ``relay/`` changes.  Its ``App`` gets the
world's database as its asyncpg pool — the simulated PostgreSQL, since relay's
``[tool.simwire.migrations]`` says ``dialect = "postgres"`` and :meth:`RelayTarget.migrations`
returns that configuration — and a simulated sender; a seeded feed of webhooks arrives over
``spec.hours`` of virtual time, each handled as its own task (a web server's request), while
``App.prune_forever`` runs beside them.  relay's ``datetime.now()``, ``uuid.uuid4()`` and
``asyncio.sleep()`` are virtualized by the kernel.

relay's bus has no observer hooks and no unsubscribe.  The target therefore (a) shadows the bus
instance's ``publish`` to report each publish to the driver's observers before relay's own
``publish`` runs, and (b) wraps each handler in the bus's table so a handler that raises is
reported (once, however many publishes it unwinds through) and the error goes on exactly as
relay's bus lets it.  The components never unsubscribe (relay ends with its process), so the
generic subscription-leak oracle is left out of the judge.

As shipped, relay's only data path holds two of the README's planted defects, and a run reports
both: ``save_delivery`` is never awaited (``kernel.unawaited``, and ``oracle.not-persisted``: no
delivery archived) and ``Notifier`` reads ``routed["priority"]`` (``contract.handler-error`` /
``oracle.handler-error``: ``KeyError: 'priority'``).  The catalogue's ``baseline`` fixes both
for the control and every mutant (``examples/relay/catalogue``).
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

from contracts.config import MigrationsConfig, load_config
from contracts.registry import Registry
from sim.harness.foreign_bus import Subscription, SubscriptionTable
from sim.harness.oracles import RunFacts, handler_errors
from sim.harness.targets import BaseTarget, Ports, SessionRecord, finding
from simwire.violation import Violation

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the app imports itself as top-level `relay` (its own project root)
    sys.path.insert(0, str(HERE))

from relay.app import App  # noqa: E402
from relay_contracts import REGISTRY  # noqa: E402

ROUTES: dict[str, list[str]] = {
    "deploy": ["ops"],
    "incident": ["ops", "pager"],
    "invoice": ["billing"],
    "release": ["announce", "ops"],
    "chat": [],
}
"""relay's routing table for the session: tag -> channels (a tag may route nowhere)."""

TAGS = (*ROUTES, "unknown")
SOURCES = ("github", "grafana", "stripe")
MEAN_GAP = 20.0
"""Mean virtual seconds between two webhooks (times ``spec.tick_seconds``)."""
PRUNE_EVERY = 60.0
"""Seconds between two runs of ``App.prune_forever`` (relay's default is an hour)."""
KEEP_DAYS = 30


@dataclass(frozen=True)
class Webhook:
    """One inbound request of the feed: when it arrives, from where, its raw body."""

    number: int
    at: float
    source: str
    body: dict[str, Any]

    @property
    def raw(self) -> bytes:
        return json.dumps(self.body).encode()


def feed(seed: int, seconds: float, tick: float) -> list[Webhook]:
    """The session's webhooks, from the spec's data seed: gaps drawn around ``MEAN_GAP`` (a
    tenth of them 0, a burst), one to three tags each, now and then a tag no route knows."""
    draw = random.Random(f"relay-feed:{seed}")
    webhooks, at = [], draw.uniform(0.0, MEAN_GAP * tick)
    while at < seconds:
        tags = draw.sample(TAGS, draw.randint(1, 3))
        body = {"text": f"{draw.choice(('build', 'alert', 'payment', 'note'))} #{len(webhooks) + 1}", "tags": tags}
        webhooks.append(Webhook(len(webhooks) + 1, round(at, 6), draw.choice(SOURCES), body))
        at += 0.0 if draw.random() < 0.1 else draw.expovariate(1.0 / (MEAN_GAP * tick))
    return webhooks


class SimSender:
    """Where relay's Notifier sends: records ``(channel, text)`` per send, each send an await."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, channel: str, text: str) -> None:
        await anyio.lowlevel.checkpoint()
        self.sent.append((channel, text))


# --- the bus, observed ------------------------------------------------------------------------


Handler = Callable[[dict[str, Any]], Awaitable[None]]


class ObservedBus:
    """The driver's view of relay's ``Bus`` (``add_observer``, ``subscriptions``); see the module doc."""

    def __init__(self, bus: Any, registry: Registry) -> None:
        self.bus, self.registry = bus, registry
        self._table = SubscriptionTable()
        self._reported: list[BaseException] = []
        self._publish = bus.publish
        bus.publish = self.publish  # this instance only; relay's Bus class is untouched

    def add_observer(self, observer: Any) -> None:
        self._table.observers.append(observer)

    def subscriptions(self) -> tuple[Subscription, ...]:
        self.sync()
        return self._table.all()

    def reported(self, error: BaseException) -> bool:
        return any(error is seen for seen in self._reported)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.sync()
        for observer in self._table.observers:
            observer.on_publish(topic, payload, self._table.live.get(topic, ()))
        await self._publish(topic, payload)

    def sync(self) -> None:
        """Guard every handler in the bus's table, and tell the observers of new subscriptions."""
        table: Mapping[str, list[Handler]] = self.bus._topics  # the bus has no other view
        for topic, handlers in table.items():
            handlers[:] = [h if hasattr(h, "__simwire_subscription__") else self._guard(topic, h) for h in handlers]
        self._table.update(table, lambda topic, guarded: guarded.__simwire_subscription__)

    def _guard(self, topic: str, handler: Handler) -> Handler:
        subscription = Subscription.of(topic, handler, self.registry)

        async def guarded(payload: dict[str, Any]) -> None:
            try:
                await handler(payload)
            except Exception as error:
                if not self.reported(error):
                    self._reported.append(error)
                    for observer in self._table.observers:
                        observer.on_handler_error(subscription, topic, payload, error)
                raise

        guarded.__simwire_subscription__ = subscription  # type: ignore[attr-defined]
        return guarded


# --- the session ------------------------------------------------------------------------------


class RelaySystem:
    """relay's App, fed webhooks for ``seconds`` of virtual time while it prunes beside them."""

    def __init__(self, ports: Ports) -> None:
        spec = ports.spec
        self.clock, self.seconds = ports.clock, spec.hours * 3600
        self.webhooks = feed(spec.market_seed, self.seconds, spec.tick_seconds)
        self.sender = SimSender()
        self.app = App(ports.database, self.sender, {tag: list(channels) for tag, channels in ROUTES.items()})
        self.bus = ObservedBus(self.app.bus, REGISTRY)
        self.accepted: dict[int, str] = {}
        self.failures: list[dict[str, Any]] = []

    async def start(self) -> None:
        self.bus.sync()

    async def run(self) -> None:
        started = self.clock.monotonic()
        async with anyio.create_task_group() as background:
            background.start_soon(self._prune)
            async with anyio.create_task_group() as requests:
                for webhook in self.webhooks:
                    await self.clock.sleep(max(0.0, started + webhook.at - self.clock.monotonic()))
                    requests.start_soon(self._request, webhook)
            await self.clock.sleep(max(0.0, started + self.seconds - self.clock.monotonic()))
            background.cancel_scope.cancel()

    async def _prune(self) -> None:
        await self.app.prune_forever(keep_days=KEEP_DAYS, every=PRUNE_EVERY)

    async def _request(self, webhook: Webhook) -> None:
        """One webhook, as relay's web entry point would hand it over; a failure is a 500."""
        try:
            self.accepted[webhook.number] = await self.app.ingest.receive(webhook.source, webhook.raw)
        except Exception as error:
            self.failures.append({"webhook": webhook.number, "error": f"{type(error).__name__}: {error}",
                                  "handler": self.bus.reported(error)})

    async def stop(self) -> None:
        return None

    async def facts(self) -> dict[str, Any]:
        return {"webhooks": [{"number": w.number, "source": w.source, "body": w.body,
                              "message_id": self.accepted.get(w.number)} for w in self.webhooks],
                "failures": list(self.failures), "sent": list(self.sender.sent)}

    def row_scope(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RelayTarget(BaseTarget):
    name = "relay"
    modes = REGISTRY.modes  # ("live",)
    tables = ("messages", "deliveries")
    kernels = ("asyncio",)  # relay calls asyncio.sleep
    simulated_only = "its sender and feed are simulated"

    def migrations(self) -> MigrationsConfig:  # type: ignore[override]  # carries the postgres dialect
        """relay's own ``[tool.simwire.migrations]``: its directory, in the ``postgres`` dialect."""
        config = load_config(HERE / "pyproject.toml").migrations
        assert config is not None, "examples/relay/pyproject.toml names its migrations"
        return config

    def registry(self) -> Registry:
        return REGISTRY

    async def build(self, ports: Ports) -> RelaySystem:
        return RelaySystem(ports)

    def judge(self, record: SessionRecord) -> list[Violation]:
        """No handler raised, no webhook refused, plus relay's own oracles (archive, routing,
        sending).  The generic subscription-leak oracle is left out: relay never unsubscribes."""
        facts = RunFacts([], record.recorder, record.tables, location=record.location)
        return [*handler_errors(facts), *intake_oracles(record), *archive_oracles(record),
                *routing_oracles(record)]

    def summary(self, record: SessionRecord) -> dict[str, Any]:
        found = super().summary(record)
        found["webhooks"] = len(record.facts.get("webhooks", []))
        found["failures"] = len(record.facts.get("failures", []))
        found["sent"] = len(record.facts.get("sent", []))
        return found


def intake_oracles(record: SessionRecord) -> list[Violation]:
    """Every webhook is accepted (a failure not already reported as a handler's error is named
    here) and announced once, with what it carried."""
    found: list[Violation] = []
    own = [f for f in record.facts.get("failures", []) if not f.get("handler")]
    if own:
        found.append(finding("oracle.webhook-failed", f"{len(own)} webhooks failed in relay's intake",
                                record, "every webhook accepted", f"webhook {own[0]['webhook']}: {own[0]['error']}"))
    received = {event.get("message_id"): event for event in record.recorder.of("message.received")}
    wrong = []
    for webhook in record.facts.get("webhooks", []):
        event = received.get(webhook["message_id"]) if webhook["message_id"] is not None else None
        if webhook["message_id"] is None:
            continue  # failed: named above or as a handler error
        if event is None:
            wrong.append(f"webhook {webhook['number']}: no message.received for {webhook['message_id']}")
        elif (event.get("source"), event.get("text"), event.get("tags")) != (
                webhook["source"], webhook["body"]["text"], webhook["body"]["tags"]):
            wrong.append(f"webhook {webhook['number']}: announced {event.get('source')!r} {event.get('text')!r} "
                         f"{event.get('tags')!r}")
    if wrong:
        found.append(finding("oracle.intake", f"{len(wrong)} accepted webhooks not announced as received",
                                record, "one message.received per webhook, with its source, text and tags",
                                wrong[0]))
    return found


def archive_oracles(record: SessionRecord) -> list[Violation]:
    """Every received message archived once with its source and body; every routed delivery
    archived once (nothing is old enough for ``prune`` to delete within a session)."""
    found: list[Violation] = []
    bodies = {w["message_id"]: w for w in record.facts.get("webhooks", []) if w["message_id"] is not None}
    rows = record.tables.get("messages", [])
    events = record.recorder.of("message.received")
    stored = Counter(row.get("message_id") for row in rows)
    lost = [str(e.get("message_id")) for e in events if stored[e.get("message_id")] != 1]
    if lost or len(rows) != len(events):
        found.append(finding("oracle.not-persisted", f"{len(lost)} of {len(events)} received messages are not "
                                f"archived exactly once (messages rows: {len(rows)})", record,
                                "one messages row per message.received", ", ".join(lost[:3])))
    wrong = []
    for row in rows:
        webhook = bodies.get(row.get("message_id"))
        if webhook is None:
            continue
        body = row.get("body")
        try:
            parsed = json.loads(body) if isinstance(body, str) else body
        except ValueError:
            parsed = body
        if row.get("source") != webhook["source"] or parsed != webhook["body"]:
            wrong.append(f"{row.get('message_id')}: {row.get('source')!r} {body!r}")
    if wrong:
        found.append(finding("oracle.archive-mismatch", f"{len(wrong)} archived messages differ from their "
                                "webhook", record, "source and body as received", wrong[0]))
    routed = Counter(f"{e.get('message_id')} -> {e.get('channel')}" for e in record.recorder.of("message.routed"))
    archived = Counter(f"{row.get('message_id')} -> {row.get('channel')}"
                       for row in record.tables.get("deliveries", []))
    found += _one_each("oracle.not-persisted", routed, archived, record, "archived",
                       "one deliveries row per message.routed")
    return found


def _one_each(rule: str, due: Counter[str], done: Counter[str], record: SessionRecord, verb: str,
              expected: str) -> list[Violation]:
    """Each routed delivery done once (archived, sent): the missing ones, or those done unasked."""
    if due == done:
        return []
    missing, extra = sorted((due - done).elements()), sorted((done - due).elements())
    return [finding(rule, f"{sum(due.values())} deliveries routed, {sum(done.values())} {verb} "
                       f"({len(missing)} missing, {len(extra)} not routed)", record, expected,
                       ", ".join((missing or extra)[:3]))]


def routing_oracles(record: SessionRecord) -> list[Violation]:
    """Each received message is routed to exactly the channels of its tags (relay's routing
    table), and each routed delivery is sent once, on its channel, with its text."""
    found: list[Violation] = []
    routed: dict[Any, list[str]] = {}
    for event in record.recorder.of("message.routed"):
        routed.setdefault(event.get("message_id"), []).append(str(event.get("channel")))
    wrong = []
    accepted = {w["message_id"] for w in record.facts.get("webhooks", [])} - {None}
    for event in record.recorder.of("message.received"):
        if event.get("message_id") not in accepted:
            continue  # a webhook whose request failed: its routing stopped with it (named elsewhere)
        expected = sorted({c for tag in event.get("tags") or [] for c in ROUTES.get(tag, [])})
        seen = sorted(routed.get(event.get("message_id"), []))
        if seen != expected:
            wrong.append(f"{event.get('message_id')} tags {event.get('tags')}: routed to {seen}, expected {expected}")
    if wrong:
        found.append(finding("oracle.routing", f"{len(wrong)} messages routed to the wrong channels", record,
                                "the channels of the message's tags, each once", wrong[0]))
    due = Counter(f"{e.get('channel')}: {'[!] ' if e.get('priority') == 'high' else ''}{e.get('text')}"
                  for e in record.recorder.of("message.routed"))
    sent = Counter(f"{channel}: {text}" for channel, text in record.facts.get("sent", []))
    found += _one_each("oracle.not-sent", due, sent, record, "sent",
                       "one send per message.routed, on its channel with its text")
    return found


TARGET = RelayTarget()
