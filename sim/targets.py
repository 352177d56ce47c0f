"""The target protocol: how simwire builds, drives and observes a system under test.

A *target* is any system built from ports.  simwire's session driver (:mod:`sim.session`)
hands it :class:`Ports` made by a world (simulated: virtual clock, seeded ids and random, the
simulated QuestDB with its fault plan; real: the wall clock, uuids and a real server), drives
one session (``start`` -> ``run`` -> ``stop``) and reads what it exposes to the oracles: the
events on its bus (through an observer), the rows of its declared tables, the statement log of
the simulated database, and whatever ``facts()`` returns.  Nothing else of the target is
touched, which is what lets ``run``, ``explore``, ``mutants``, ``replay``, ``shrink`` and
``determinism`` work on code simwire was not written for.  ``docs/targets.md`` is the guide.

The trading system is the built-in target (``sim.trading_target``, named ``trading``);
``--target module:attr`` names any other :class:`Target`, imported like ``python -m`` does
(the current directory first on the path).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sim.spec import DEFAULT_TARGET, SpecError

if TYPE_CHECKING:
    from contracts.violation import Violation
    from sim.recorder import EventRecorder
    from sim.spec import ScenarioSpec


@dataclass
class Ports:
    """What a world gives a target to build itself from (the system's ``system.ports`` shapes)."""

    spec: ScenarioSpec
    clock: Any
    ids: Any
    random: Any
    database: Any
    simulated: bool
    """False on a real server: no virtual time, so nothing may be replayed in real time."""
    faults: Any = None
    """The run's ``FaultPlan`` (simulated worlds); a target's own simulated services (an exchange,
    a network) draw from ``faults.injector(site, spec.seed)``."""


@runtime_checkable
class System(Protocol):
    """A built system, driven once: ``start`` -> ``run`` (the session) -> ``stop``."""

    bus: Any
    """Its event bus: ``add_observer(observer)`` and ``subscriptions()`` (``system.bus.EventBus``)."""

    async def start(self) -> None: ...

    async def run(self) -> None:
        """Run the session to its end (the spec's ``hours`` of virtual time, or its own end)."""

    async def stop(self) -> None:
        """Stop everything ``start`` started; called even when ``run`` failed."""

    async def facts(self) -> dict[str, Any]:
        """After ``stop``: what the target's own oracles need (e.g. the trading sessions)."""

    def row_scope(self) -> tuple[str, list[str]] | None:
        """``(column, values)`` limiting the rows read back on a shared real server, or None."""

    async def close(self) -> None:
        """Release what ``build`` made beside the ports (last, after the facts were read)."""


@dataclass
class SessionRecord:
    """Everything the driver observed of one session: the input of every oracle."""

    spec: ScenarioSpec
    recorder: EventRecorder
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    statement_log: list[Any] = field(default_factory=list)
    leftover_subscriptions: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    location: str = ""


@runtime_checkable
class Target(Protocol):
    """A system under test.  Subclass :class:`BaseTarget` for the defaults."""

    name: str
    modes: tuple[str, ...]
    """The ``spec.mode`` values it runs (its registry's modes, if it has one)."""
    tables: tuple[str, ...]
    """The tables whose rows are facts (read back after the session, digested by determinism)."""

    def migrations(self) -> Path | None: ...

    def registry(self) -> Any | None:
        """A ``contracts.registry.Registry`` for the runtime monitor (None: no monitor)."""

    def check(self, spec: ScenarioSpec, *, simulated: bool) -> None:
        """Raise :class:`sim.spec.SpecError` for a spec this target cannot run."""

    async def build(self, ports: Ports) -> System: ...

    def judge(self, record: SessionRecord) -> list[Violation]:
        """The target's end-of-run oracles."""

    def summary(self, record: SessionRecord) -> dict[str, Any]: ...


class BaseTarget:
    """Defaults for a target: every mode of its registry, no tables, the generic oracles."""

    name = "target"
    modes: tuple[str, ...] = ("backtest", "paper", "live")
    tables: tuple[str, ...] = ()

    def migrations(self) -> Path | None:
        return None

    def registry(self) -> Any | None:
        return None

    def check(self, spec: ScenarioSpec, *, simulated: bool) -> None:
        if spec.mode not in self.modes:
            raise SpecError(f"target {self.name!r} runs mode(s) {', '.join(self.modes)}, not {spec.mode!r}")

    async def build(self, ports: Ports) -> System:
        raise NotImplementedError(f"target {self.name!r} must define build(ports)")

    def judge(self, record: SessionRecord) -> list[Violation]:
        return generic_oracles(record)

    def summary(self, record: SessionRecord) -> dict[str, Any]:
        return {"events": dict(sorted(record.recorder.counts.items())),
                "rows": {name: len(rows) for name, rows in record.tables.items()}}


def generic_oracles(record: SessionRecord) -> list[Violation]:
    """The end-of-run oracles that hold for any target with a bus: no handler raised, nothing
    left subscribed once stopped.  (The registry-derived checks run in the runtime monitor.)"""
    from sim import oracles

    facts = oracles.RunFacts([], record.recorder, record.tables,
                             leftover_subscriptions=record.leftover_subscriptions, location=record.location)
    return [*oracles.handler_errors(facts), *oracles.no_subscription_left(facts)]


_BUILT_IN: Mapping[str, str] = {DEFAULT_TARGET: "sim.trading_target:TRADING"}


def load_target(name: str) -> Target:
    """``trading`` or ``module:attr`` -> the :class:`Target` (an instance, or a class made with no
    arguments).  The current directory is searched first, as ``python -m`` does."""
    from sim.kernel.targets import TargetError, import_object

    try:
        obj = import_object(_BUILT_IN.get(name, name), shape="'trading' or 'module:attr'",
                            example="examples.tally.target:TARGET")
    except TargetError as error:
        raise SpecError(str(error)) from None
    if isinstance(obj, type):
        obj = obj()
    missing = [member for member in ("name", "tables", "build", "check", "judge", "summary", "registry",
                                     "migrations", "modes") if not hasattr(obj, member)]
    if missing:
        raise SpecError(f"target {name!r}: {type(obj).__name__} is not a Target (missing {', '.join(missing)}; "
                        f"subclass sim.targets.BaseTarget, see docs/targets.md)")
    return obj  # type: ignore[no-any-return]


def is_scenario_target(name: str) -> bool:
    """True when ``name`` is a :class:`Target` (not a bare coroutine program for ``sim.run``)."""
    try:
        load_target(name)
    except SpecError:
        return False
    return True
