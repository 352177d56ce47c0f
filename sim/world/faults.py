"""Fault plans: which faults a simulated run injects, where, and how often — declared, seeded.

A :class:`FaultPlan` is data: a frozen mapping from a *site* (``"db"``, ``"exchange"``,
``"stream"``) to that site's :class:`SiteFaults`.  It holds no
random state.  Each component that injects faults asks for ``plan.injector(site, seed)``,
which draws from its own ``random.Random`` seeded by the pair, so adding a fault site or
a statement somewhere else never shifts the draws of another site, and the same seed gives
the same faults in every run, process and ``PYTHONHASHSEED``.

Sites and what their knobs mean:

* ``db`` — every statement of the simulated QuestDB.  ``error_rate``: probability that a
  statement fails with ``TransientDatabaseError`` before it does anything.  ``ack_loss_rate``:
  probability that a statement takes effect and *then* fails the same way (the reply was
  lost), which is what makes a blind retry write twice.  ``latency``:
  virtual seconds each statement takes.  ``lag``: WAL apply lag — on a WAL table, a write is
  acknowledged at once and becomes visible this many virtual seconds later.  ``suspend_rate``:
  probability that a write to a WAL table is acknowledged and then fails when the WAL applies
  it, which *suspends the table* as a real QuestDB does (questdb-facts.md): later writes are
  acknowledged and queue, readers see the table as of the failure, ``wal_tables()`` says
  ``suspended`` with the error, and ``ALTER TABLE t RESUME WAL`` retries the failed transaction
  (``FROM TXN n`` skips to ``n``); the cause lasts one to three apply attempts, so a resume
  may have to be repeated.  A client that never looks loses every later write from
  every reader's view without an error.

* ``exchange`` — every HTTP request to the simulated MEXC futures exchange
  (``sim.world.exchange.transport``).  ``latency``: virtual seconds per request.  ``error_rate``:
  HTTP 503, not processed.  ``rate_limit_rate``: code 510, not processed.  ``reject_rate``:
  an order submission refused with an error code.  ``ack_loss_rate``: the exchange processes
  the request and the client times out (an order accepted, its acknowledgement lost).
  ``lag``: delayed fills, an accepted order fills no earlier than this many seconds later.
* ``process`` — the system itself (``sim.world.crash``, ``sim.harness.crashes``).  ``crash_rate``:
  probability per minute of market data that the whole process dies there — every task
  stopped where it is, in-memory state gone, calls in flight lost — to be restarted
  ``downtime`` later as a fresh system on the same database and exchange.  At most
  ``MAX_CRASHES`` per run, none in the liveness phase's last stretch.
* ``stream`` — the private push stream.  ``error_rate``: per pushed message, the connection
  drops there (that message and what follows until the client reconnects are lost);
  ``latency``: delivery delay of each message.

Choosing values: real QuestDB applies the WAL within tens of milliseconds and answers in
about a millisecond on a local network; ``db-flaky`` and ``db-lag`` exaggerate both enough
that a missing retry or a read-after-write assumption fails within a few hundred statements.

Presets (``FaultPlan.preset(name)``, ``simwire run --faults NAME``): ``none``, ``db-flaky``,
``db-lag``, ``exchange-flaky`` (every exchange and stream fault at once, a few per cent each,
so a 30-minute live session meets each kind several times), ``crash`` (the process dies about
once every 12 minutes of market data, anywhere in the work a tick sets off, and is back after 1
to 30 seconds; statements and requests take a little time, so some are in flight when it dies).
Custom plans: ``FaultPlan.from_spec("db_error_rate=0.05,db_latency_ms=1..20")``,
optionally starting from a preset: ``"db-lag,db_error_rate=0.01"``; every command that takes
``--faults`` accepts the same text, and the repro command of a run carries it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import anyio
import anyio.lowlevel

# Spec field suffix -> (SiteFaults attribute, multiplier from the spec's unit to seconds).
_FIELDS: dict[str, tuple[str, float]] = {
    "error_rate": ("error_rate", 1.0),
    "ack_loss_rate": ("ack_loss_rate", 1.0),
    "latency_ms": ("latency", 0.001),
    "lag_ms": ("lag", 0.001),
    "reject_rate": ("reject_rate", 1.0),
    "rate_limit_rate": ("rate_limit_rate", 1.0),
    "suspend_rate": ("suspend_rate", 1.0),
    "crash_rate": ("crash_rate", 1.0),
    "downtime_ms": ("downtime", 0.001),
}


@dataclass(frozen=True, slots=True)
class Span:
    """A duration drawn uniformly from ``[low, high]`` virtual seconds (fixed when equal)."""

    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"a fault duration needs 0 <= low <= high, got {self.low}..{self.high}")

    def draw(self, rng: random.Random) -> float:
        return self.low if self.low == self.high else rng.uniform(self.low, self.high)

    def __str__(self) -> str:
        low, high = self.low * 1000, self.high * 1000
        return f"{low:g}ms" if low == high else f"{low:g}..{high:g}ms"


_RATES = ("error_rate", "ack_loss_rate", "reject_rate", "rate_limit_rate", "suspend_rate", "crash_rate")
SITES = ("db", "exchange", "stream", "process")
"""The places that draw faults; a plan naming any other site would inject nothing there."""


@dataclass(frozen=True, slots=True)
class SiteFaults:
    """The faults injected at one site; every default means "no fault"."""

    error_rate: float = 0.0
    latency: Span = Span()
    lag: Span = Span()
    ack_loss_rate: float = 0.0
    reject_rate: float = 0.0
    rate_limit_rate: float = 0.0
    suspend_rate: float = 0.0
    crash_rate: float = 0.0
    downtime: Span = Span()

    def __post_init__(self) -> None:
        for name in _RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {getattr(self, name)}")


NO_FAULTS = SiteFaults()


@dataclass(frozen=True)
class FaultPlan:
    """Faults by site.  Immutable and hashable by content, so a run can print and record it."""

    name: str = "none"
    sites: Mapping[str, SiteFaults] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(site for site in self.sites if site not in SITES)
        if unknown:
            raise ValueError(f"unknown fault site(s) {', '.join(map(repr, unknown))} in plan {self.name!r}; "
                             f"sites: {', '.join(SITES)}")
        object.__setattr__(self, "sites", MappingProxyType(dict(sorted(self.sites.items()))))

    def site(self, name: str) -> SiteFaults:
        return self.sites.get(name, NO_FAULTS)

    def injector(self, site: str, seed: int) -> FaultInjector:
        """The fault source for ``site`` in the run with ``seed``; independent of other sites."""
        return FaultInjector(self.site(site), random.Random(f"simwire-faults:{seed}:{site}"))

    def describe(self) -> str:
        """One line for the run header, e.g. ``db-flaky (db: error_rate=0.05 latency=1..20ms)``."""
        parts = []
        for site, faults in self.sites.items():
            knobs = [f"{name}={getattr(faults, name):g}" for name in _RATES if getattr(faults, name)]
            knobs += [f"{name}={span}" for name, span in (("latency", faults.latency), ("lag", faults.lag),
                                                          ("downtime", faults.downtime)) if span.high]
            parts.append(f"{site}: {' '.join(knobs) or 'none'}")
        return f"{self.name} ({'; '.join(parts)})" if parts else self.name

    @classmethod
    def preset(cls, name: str) -> FaultPlan:
        plan = PRESETS.get(name)
        if plan is None:
            raise ValueError(f"unknown fault plan {name!r}; presets: {', '.join(PRESETS)}")
        return plan

    @classmethod
    def from_spec(cls, text: str) -> FaultPlan:
        """``"[preset,]site_field=value,..."``; fields ``error_rate``, ``ack_loss_rate``, ``reject_rate``,
        ``rate_limit_rate``, ``suspend_rate`` (0..1), ``latency_ms`` and
        ``lag_ms`` (``5`` or ``1..20``).  A bare preset name is that preset."""
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise ValueError("empty fault spec; give a preset name or site_field=value pairs")
        plan = cls.preset(items.pop(0)) if "=" not in items[0] else PRESETS["none"]
        sites = dict(plan.sites)
        for item in items:
            key, _, value = item.partition("=")
            site, attribute, parsed = _parse_item(key.strip(), value.strip(), item)
            sites[site] = replace(sites.get(site, NO_FAULTS), **{attribute: parsed})
        return cls(text if len(items) else plan.name, sites)


def _parse_item(key: str, value: str, item: str) -> tuple[str, str, float | Span]:
    for suffix, (attribute, unit) in _FIELDS.items():
        if key.endswith("_" + suffix) and len(key) > len(suffix) + 1:
            site = key[: -len(suffix) - 1]
            if site not in SITES:
                raise ValueError(f"bad fault spec item {item!r}: unknown site {site!r}; sites: {', '.join(SITES)}")
            try:
                if attribute.endswith("_rate"):
                    return site, attribute, float(value)
                low, _, high = value.partition("..")
                low_value, high_value = float(low), float(high or low)
                if not 0 <= low_value <= high_value:  # said in the unit typed, not in seconds
                    unit_name = key.rsplit("_", 1)[-1]
                    raise ValueError(f"a duration needs 0 <= low <= high, got {low_value:g}..{high_value:g} "
                                     f"{unit_name}")
                return site, attribute, Span(low_value * unit, high_value * unit)
            except ValueError as error:
                raise ValueError(f"bad fault spec item {item!r}: {error}") from None
    if "=" not in item:
        raise ValueError(f"bad fault spec item {item!r}: a preset name must come first "
                         f"(presets: {', '.join(PRESETS)})")
    raise ValueError(f"bad fault spec item {item!r}: expected <site>_<field>=value with field one of "
                     f"{', '.join(_FIELDS)}")


class FaultInjector:
    """Seeded draws for one site.  Ask in a fixed order per event so runs replay exactly."""

    def __init__(self, faults: SiteFaults, rng: random.Random) -> None:
        self.faults = faults
        self._rng = rng

    def switch_off(self) -> None:
        """No faults from now on: the liveness phase of a run (``sim.harness.liveness``)."""
        self.faults = NO_FAULTS

    def fails(self) -> bool:
        return self._draw(self.faults.error_rate)

    def loses_ack(self) -> bool:
        return self._draw(self.faults.ack_loss_rate)

    def rejects(self) -> bool:
        return self._draw(self.faults.reject_rate)

    def rate_limited(self) -> bool:
        return self._draw(self.faults.rate_limit_rate)

    def suspends(self) -> int:
        """0, or how many times the WAL fails to apply this write before it succeeds (1-3): the
        cause of a suspension may outlast the first ``RESUME WAL``, as a full disk would."""
        return 1 + int(self._rng.random() * 3) if self._draw(self.faults.suspend_rate) else 0

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    async def delay(self) -> None:
        """Wait the drawn latency in virtual time, or yield once: every faulted call is an await point."""
        latency = self.latency()
        if latency > 0:
            await anyio.sleep(latency)
        else:
            await anyio.lowlevel.checkpoint()

    def latency(self) -> float:
        return self.faults.latency.draw(self._rng)

    def lag(self) -> float:
        return self.faults.lag.draw(self._rng)

    def until_crash(self) -> float | None:
        """Seconds of market data until the process dies (exponential for ``crash_rate`` per
        minute), or None without crash faults."""
        rate = self.faults.crash_rate
        if rate <= 0:
            return None
        return self._rng.expovariate(-math.log1p(-min(rate, 1 - 1e-12)) / 60.0)

    def downtime(self) -> float:
        return self.faults.downtime.draw(self._rng)

    def pick(self, count: int) -> int:
        """One of ``0 .. count - 1``, uniformly."""
        return self._rng.randrange(count)


PRESETS: Mapping[str, FaultPlan] = MappingProxyType({
    "none": FaultPlan("none"),
    "db-flaky": FaultPlan("db-flaky", {"db": SiteFaults(error_rate=0.05, latency=Span(0.001, 0.020),
                                                       suspend_rate=0.005)}),
    "db-lag": FaultPlan("db-lag", {"db": SiteFaults(lag=Span(0.020, 0.200))}),
    "exchange-flaky": FaultPlan("exchange-flaky", {
        "exchange": SiteFaults(error_rate=0.05, rate_limit_rate=0.03, reject_rate=0.05, ack_loss_rate=0.05,
                               latency=Span(0.005, 0.150), lag=Span(0.0, 3.0)),
        "stream": SiteFaults(error_rate=0.01, latency=Span(0.0, 0.100)),
    }),
    "crash": FaultPlan("crash", {
        "process": SiteFaults(crash_rate=0.08, downtime=Span(1.0, 30.0)),
        # calls take time, so a crash finds some in flight: done or not, their replies are lost
        "db": SiteFaults(latency=Span(0.0, 0.005)),
        "exchange": SiteFaults(latency=Span(0.005, 0.100), lag=Span(0.0, 1.0)),
    }),
})
