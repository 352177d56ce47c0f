"""Targets: what simwire runs.  Two kinds, one ``module:attr`` importer for both.

* A **program** for ``sim.run`` (``simwire replay``/``shrink``/``determinism`` on a schedule
  file of one): a coroutine function, or a plain function returning a fresh coroutine function
  on each call (a *factory*, for programs that need new state per run) — :func:`resolve`.
* A **system under test** for the session driver (:mod:`sim.harness.session`): a
  :class:`Target`.  The driver hands it :class:`Ports` made by a world (simulated: virtual
  clock, seeded ids and random, the simulated QuestDB with its fault plan; real: the wall
  clock, uuids and a real server), drives one session (``start`` -> ``run`` -> ``stop``) and
  reads what it exposes to the oracles: the events on its bus (through an observer), the rows
  of its declared tables, the statement log of the simulated database, and whatever
  ``facts()`` returns.  Nothing else of the target is touched, which is what lets ``run``,
  ``explore``, ``mutants``, ``replay``, ``shrink`` and ``determinism`` work on code simwire was
  not written for.  The trading system is the built-in target
  (:mod:`sim.harness.trading_target`, named ``trading``); ``docs/targets.md`` is the guide.

Both are imported the way ``python -m`` does: the current directory first on the path.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sim.harness.spec import DEFAULT_TARGET, MODES, SpecError

if TYPE_CHECKING:
    from sim.harness.recorder import EventRecorder
    from sim.harness.spec import ScenarioSpec
    from simwire.violation import Violation

Main = Callable[[], Awaitable[Any]]


class TargetError(ValueError):
    """A target spec that does not name something runnable."""


def import_object(spec: str, *, shape: str = "'module:function'",
                  example: str = "tests.kernel.programs:lost_update") -> Any:
    """The object ``module:attr`` names (``attr`` may be dotted), imported as ``python -m`` does:
    the current directory first on the path.  Errors are :class:`TargetError` naming the part."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise TargetError(f"target {spec!r}: expected {shape}, e.g. {example!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetError(f"target {spec!r}: cannot import module {module_name!r}: {error}") from error
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(f"target {spec!r}: module {module_name!r} has no attribute {attribute!r}") from None
    return obj


def resolve(spec: str) -> Callable[[], Main]:
    """The factory for ``spec``: each call returns the coroutine function to run."""
    obj = import_object(spec)
    attribute = spec.partition(":")[2]
    if inspect.iscoroutinefunction(obj):
        return lambda: obj
    if callable(obj):
        return obj  # type: ignore[no-any-return]
    raise TargetError(f"target {spec!r}: {attribute!r} is a {type(obj).__name__}, not a function")


def spec_of(function: Callable[..., Any]) -> str | None:
    """``module:qualname`` if ``function`` can be found again by :func:`resolve`, else None."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        return None
    return f"{module}:{qualname}"


# --- systems under test: the session driver's targets ----------------------------------------


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
        """Raise :class:`sim.harness.spec.SpecError` for a spec this target cannot run."""

    async def build(self, ports: Ports) -> System: ...

    def judge(self, record: SessionRecord) -> list[Violation]:
        """The target's end-of-run oracles."""

    def summary(self, record: SessionRecord) -> dict[str, Any]: ...


class BaseTarget:
    """Defaults for a target: every mode of its registry, no tables, the generic oracles."""

    name = "target"
    modes: tuple[str, ...] = MODES
    tables: tuple[str, ...] = ()
    kernels: tuple[str, ...] = ()
    """The kernels it runs under (empty: any); an app calling ``asyncio`` directly names ``("asyncio",)``."""
    simulated_only = ""
    """Why it runs in the simulated world only (e.g. its exchange is simulated); empty: a real server too."""
    restarts = False
    """Whether it can be killed and restarted (``--faults crash``, ``docs/crashes.md``): only the
    trading target has the restart loop so far."""

    def migrations(self) -> Path | Any | None:
        """A directory (or files) of QuestDB migrations, or a ``MigrationsConfig`` naming its dialect."""
        return None

    def registry(self) -> Any | None:
        return None

    def check(self, spec: ScenarioSpec, *, simulated: bool) -> None:
        if spec.mode not in self.modes:
            raise SpecError(f"target {self.name!r} runs mode(s) {', '.join(self.modes)}, not {spec.mode!r}")
        if self.simulated_only and not simulated:
            raise SpecError(f"target {self.name!r} runs in the simulated world only ({self.simulated_only})")
        if self.kernels and spec.kernel not in self.kernels:
            raise SpecError(f"target {self.name!r} runs under --kernel {' or '.join(self.kernels)} only, "
                            f"not {spec.kernel!r}")
        if not self.restarts and spec.fault_plan().site("process").crash_rate > 0:
            raise SpecError(f"target {self.name!r} cannot be killed and restarted: drop the process faults "
                            f"(--faults {spec.faults}); docs/crashes.md")

    async def build(self, ports: Ports) -> System:
        raise NotImplementedError(f"target {self.name!r} must define build(ports)")

    def judge(self, record: SessionRecord) -> list[Violation]:
        return generic_oracles(record)

    def summary(self, record: SessionRecord) -> dict[str, Any]:
        return {"events": dict(sorted(record.recorder.counts.items())),
                "rows": {name: len(rows) for name, rows in record.tables.items()}}


def finding(rule: str, message: str, record: SessionRecord, expected: str, seen: str) -> Violation:
    """A finding of a target's own oracle, located at the session (``record.location``)."""
    from simwire.violation import Violation

    return Violation(rule, message, location=record.location, expected=expected, seen=seen)


def generic_oracles(record: SessionRecord) -> list[Violation]:
    """The end-of-run oracles that hold for any target with a bus: no handler raised, nothing
    left subscribed once stopped.  (The registry-derived checks run in the runtime monitor.)"""
    from sim.harness import oracles

    facts = oracles.RunFacts([], record.recorder, record.tables,
                             leftover_subscriptions=record.leftover_subscriptions, location=record.location)
    return [*oracles.handler_errors(facts), *oracles.no_subscription_left(facts)]


_BUILT_IN: Mapping[str, str] = {DEFAULT_TARGET: "sim.harness.trading_target:TRADING"}


def load_target(name: str) -> Target:
    """``trading`` or ``module:attr`` -> the :class:`Target` (an instance, or a class made with no
    arguments).  The current directory is searched first, as ``python -m`` does."""
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
                        f"subclass sim.harness.targets.BaseTarget, see docs/targets.md)")
    return obj  # type: ignore[no-any-return]


def is_scenario_target(name: str) -> bool:
    """True when ``name`` is a :class:`Target` (not a bare coroutine program for ``sim.run``)."""
    try:
        load_target(name)
    except SpecError:
        return False
    return True
