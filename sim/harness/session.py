"""The one session driver: builds a target from a world's ports, drives it, gathers the facts.

Simulated and real-database runs differ only in the world (:mod:`sim.harness.worlds`) — which ports
it makes, how it migrates and settles its database, how rows are read back — as modes differ
only by adapters in NautilusTrader.  Everything else is here, once:

    PHASES = setup, start, run                  (the *safety* phase: faults on, monitor on)
    END_PHASES = stop, liveness, gather, close  (always, even after a crash)

Each phase is a method ``phase_<name>``; a new phase (a liveness phase that keeps the system
running with faults off, a per-statement hook) is a name in the list and a method.  After the
run, :meth:`SessionDriver.result` judges it (kernel findings, a crash, the runtime monitor,
the target's oracles, the world's own checks) into the one result type,
:class:`ScenarioResult`.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import sim.kernel
from sim.harness.recorder import DeliveryOrders, EventRecorder
from sim.harness.spec import ScenarioSpec
from sim.harness.targets import Ports, SessionRecord, System, Target, load_target
from sim.harness.worlds import World
from simwire.violation import Violation, clip

PHASES = ("setup", "start", "run")
END_PHASES = ("stop", "liveness", "gather", "close")


@dataclass
class ScenarioResult:
    """One judged session, simulated or on a real server."""

    spec: ScenarioSpec
    trace_hash: str
    violations: list[Violation]
    summary: dict[str, Any]
    kernel_result: Any = field(repr=False, default=None)
    """``sim.kernel.RunResult`` of a simulated run (None on a real server)."""
    tables: dict[str, list[dict[str, Any]]] = field(repr=False, default_factory=dict)
    """The target's tables as the oracles read them after the run."""
    statement_log: list[Any] = field(repr=False, default_factory=list)
    """Every statement the simulated database received (query, args, error), in order."""
    record: SessionRecord | None = field(repr=False, default=None)
    world: dict[str, Any] = field(default_factory=dict)
    """What the world says of itself (``deterministic``; on a real server its version, DSN...)."""

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.spec.target, "seed": self.spec.seed, "kernel": self.spec.kernel,
            "policy": self.spec.policy, "mode": self.spec.mode, "faults": self.spec.faults,
            "symbols": list(self.spec.symbols), "hours": self.spec.hours, "trace_hash": self.trace_hash,
            **self.world, **self.summary,
            "violations": [v.to_json() for v in self.violations], "repro": self.spec.repro(),
        }


class SessionDriver:
    """One session of ``spec``'s target in ``world``.  ``main`` is the coroutine function a
    kernel (or ``anyio.run`` on a real server) runs; build a fresh driver per run."""

    def __init__(self, spec: ScenarioSpec, world: World, target: Target | None = None) -> None:
        self.spec = spec
        self.world = world
        self.target = target if target is not None else load_target(spec.target)
        self.target.check(spec, simulated=world.simulated)
        self.recorder = EventRecorder()
        self.record = SessionRecord(spec, self.recorder, location=world.location(spec))
        self.ports: Ports | None = None
        self.system: System | None = None
        self.monitor: Any = None
        self.session_wall_seconds = 0.0
        self._started = 0.0

    async def main(self) -> None:
        try:
            for phase in PHASES:
                await getattr(self, f"phase_{phase}")()
        finally:
            for phase in END_PHASES:
                await getattr(self, f"phase_{phase}")()

    # -- phases -----------------------------------------------------------------------------

    async def phase_setup(self) -> None:
        """Ports from the world, the target's schema applied, the system built and observed."""
        self.recorder.clear()  # this driver's main may run twice (sim.kernel's unawaited replay)
        migrations = self.target.migrations()
        self.ports = ports = await self.world.ports(self.spec, migrations)
        if migrations is not None:
            await self.world.migrate(ports.database, migrations)
        self.system = system = await self.target.build(ports)
        system.bus.add_observer(self.recorder)
        if sim.kernel.full_trace():  # only a full trace has steps for the data timeline to mark
            system.bus.add_observer(self.recorder.data_timeline)
        registry = self.target.registry() if self.spec.monitor else None
        if registry is not None:
            self.monitor = self._monitor(registry, migrations)
            system.bus.add_observer(self.monitor)
            if hasattr(ports.database, "add_observer"):
                ports.database.add_observer(self.monitor)

    async def phase_start(self) -> None:
        assert self.system is not None
        self._started = time.perf_counter()  # wall time of the session itself, data set-up excluded
        await self.system.start()

    async def phase_run(self) -> None:
        assert self.system is not None
        await self.system.run()

    async def phase_stop(self) -> None:
        if self.system is None:
            return
        try:
            await self.system.stop()
        finally:
            self.session_wall_seconds = time.perf_counter() - self._started if self._started else 0.0

    async def phase_liveness(self) -> None:
        """Let the database catch up (the WAL applies) before the facts are read."""
        if self.ports is not None:
            await self.world.settle(self.ports.database)

    async def phase_gather(self) -> None:
        if self.system is None or self.ports is None:
            return
        record = self.record
        record.facts = await self.system.facts()
        record.leftover_subscriptions = [f"{s.name} -> {s.topic}" for s in self.system.bus.subscriptions()]
        record.tables = await self.world.read_tables(self.ports.database, self.target.tables,
                                                     self.system.row_scope())
        record.statement_log = self.world.statement_log(self.ports.database)

    async def phase_close(self) -> None:
        try:
            if self.system is not None:
                await self.system.close()
        finally:
            if self.ports is not None:
                await self.world.close(self.ports.database)

    # -- judging ----------------------------------------------------------------------------

    def judge(self) -> list[Violation]:
        """The monitor's findings, the target's oracles and the world's own checks."""
        found: list[Violation] = []
        if self.monitor is not None:
            found += self.monitor.violations()
            # the system's own record of failed writes, where the target keeps one (``persistence_failures``)
            found += self.monitor.silent_drops(self.record.facts.get("persistence_failures", []))
        if self.system is not None and self.ports is not None:
            try:
                found += self.target.judge(self.record)
            except Exception as error:  # a target's oracle tripping on malformed output is a finding too
                found.append(crash_violation(error, what=f"the oracles of target {self.target.name!r}"))
        found += self.world.violations()
        return found

    def result(self, kernel_result: Any = None, *, error: BaseException | None = None,
               wall_seconds: float = 0.0) -> ScenarioResult:
        """The judged run: kernel findings, a crash of the run, then :meth:`judge`."""
        violations = list(kernel_result.violations) if kernel_result is not None else []
        error = error if error is not None else getattr(kernel_result, "error", None)
        if error is not None:
            violations.append(crash_violation(error))
        violations += self.judge()
        if self.world.simulated:  # the scenario command, not a sim.run() expression
            violations = [v.with_repro(self.spec.repro()) for v in violations]
        summary = self.target.summary(self.record) if self.system is not None else {}
        summary["session_wall_seconds"] = self.session_wall_seconds
        summary["wall_seconds"] = wall_seconds
        if kernel_result is not None:
            summary.update(virtual_seconds=kernel_result.virtual_seconds, steps=kernel_result.steps)
        return ScenarioResult(self.spec, getattr(kernel_result, "trace_hash", ""), violations, summary,
                              kernel_result, self.record.tables, self.record.statement_log, self.record,
                              self.world.describe())

    def _monitor(self, registry: Any, migrations: Any) -> Any:
        from contracts.migrations import load_schema
        from contracts.monitor import RuntimeMonitor

        assert self.ports is not None
        clock, seed = self.ports.clock, self.spec.seed
        hint = (lambda: f"t={clock.monotonic():.3f}s seed {seed}") if self.world.simulated else None
        schema = load_schema(migrations) if migrations is not None else None
        return RuntimeMonitor(registry, schema, mode=self.spec.mode, location_hint=hint)


def crash_violation(error: BaseException, *, what: str = "the run") -> Violation:
    """``oracle.crash``: the run (or a judge of it) raised instead of finishing."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return Violation(
        "oracle.crash", f"{what} raised {type(error).__name__}: {error}", location=where,
        expected="the session runs to completion",
        seen=clip("".join(traceback.format_exception(error)), 2000, keep="end"),
    )


def run_scenario(spec: ScenarioSpec, *, schedule: list[int] | None = None, choices: Any = None,
                 trace: bool | None = None, coverage: bool = False) -> ScenarioResult:
    """Run one simulated session of ``spec`` to the end and judge it.  Never raises for a failure
    of the system under test: a crash is a violation like any other.  The run is lean by default
    (``trace=None``): its full trace is recovered by replaying its schedule the first time it is
    read; ``trace=True`` records it as the run goes (when it is known to be wanted), ``False``
    keeps none.  ``coverage`` asks the
    kernel for ``RunResult.coverage`` (exploration counts it) where the kernel offers it, and
    the recorder for the bus's delivery orders (:class:`sim.harness.recorder.DeliveryOrders`)."""
    from sim.harness.process import prepare_process
    from sim.harness.worlds import SimulatedWorld

    prepare_process()  # imports and a one-time gc.freeze(): start-up is not the run's time
    driver = SessionDriver(spec, SimulatedWorld())
    if coverage:  # and the bus's delivery orders (``result.record.recorder.delivery_orders``)
        driver.recorder.delivery_orders = DeliveryOrders()
    started = time.perf_counter()
    extra = {"coverage": True} if coverage and kernel_reports_coverage() else {}
    if choices is None and schedule is None:
        choices = spec.choices()
    result = sim.kernel.run(driver.main, seed=spec.scheduler_seed, policy=spec.policy, kernel=spec.kernel,
                            schedule=schedule, choices=choices, pct_depth=spec.pct_depth, trace=trace,
                            virtualize=spec.virtualize, **extra)
    return driver.result(result, wall_seconds=time.perf_counter() - started)


def kernel_reports_coverage() -> bool:
    import inspect

    import sim.kernel

    return "coverage" in inspect.signature(sim.kernel.run).parameters


def scenario_main(spec: ScenarioSpec) -> tuple[SessionDriver, Any]:
    """A fresh driver and its ``main`` for a simulated run of ``spec`` (for shrinking and
    determinism, which run ``main`` themselves)."""
    from sim.harness.worlds import SimulatedWorld

    driver = SessionDriver(spec, SimulatedWorld())
    return driver, driver.main
