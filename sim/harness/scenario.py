"""One full-system session under a deterministic kernel: the heart of ``simwire run``.

Every knob of a run derives from :class:`ScenarioSpec` and its seed (market data, fault
plan, schedule), so the spec *is* the reproduction: ``spec.repro()`` is the one command that
gets back to any failure.  The run has two phases:

- *safety*: the system runs its session with faults on; the runtime monitor validates every
  payload and statement as it happens;
- *liveness*: faults off, the simulated database applies its WAL, and the end-of-run oracles
  (``sim.harness.oracles``) read the tables and compare them with what the system says.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sim.harness import oracles
from sim.harness.recorder import EventRecorder
from sim.world.faults import FaultPlan
from simwire.violation import Violation

MODES = ("backtest", "paper", "live")
KERNELS = ("asyncio", "trio")
POLICIES = ("fifo", "random", "pct")
DEFAULT_SYMBOLS = ("BTC_USDT", "ETH_USDT", "SOL_USDT")
TRADING_TABLES = ("sessions", "strategy_signals", "orders", "positions")


def migrations_dir() -> Path:
    import system

    return Path(system.__file__).parent / "migrations"


@dataclass(frozen=True)
class ScenarioSpec:
    """Everything that determines a run.  Two equal specs give the same trace hash."""

    mode: str = "backtest"
    seed: int = 0
    kernel: str = "asyncio"
    policy: str = "fifo"
    faults: str = "none"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    hours: float = 2.0
    tick_seconds: float = 1.0
    sessions: int = 1
    sequential: bool = False
    """With several sessions: run them one after the other instead of side by side."""
    pct_depth: int = 3
    monitor: bool = True

    def __post_init__(self) -> None:
        for name, value, allowed in (("mode", self.mode, MODES), ("kernel", self.kernel, KERNELS),
                                     ("policy", self.policy, POLICIES)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        if not self.symbols:
            raise ValueError("symbols: at least one symbol is required")
        if self.hours <= 0 or self.tick_seconds <= 0:
            raise ValueError(f"hours and tick_seconds must be positive, got {self.hours} and {self.tick_seconds}")
        if self.sessions < 1:
            raise ValueError(f"sessions must be >= 1, got {self.sessions}")
        FaultPlan.from_spec(self.faults)  # a bad plan is the caller's error, not a crash of the run

    def repro(self) -> str:
        """The one command that reproduces this run."""
        default = ScenarioSpec()
        parts = ["simwire", "run", "--mode", self.mode, "--seed", str(self.seed),
                 "--kernel", self.kernel, "--policy", self.policy]
        if self.faults != default.faults:
            parts += ["--faults", self.faults]
        if self.symbols != default.symbols:
            parts += ["--symbols", ",".join(self.symbols)]
        if self.hours != default.hours:
            parts += ["--hours", f"{self.hours:g}"]
        if self.sessions != default.sessions:
            parts += ["--sessions", str(self.sessions)]
        if self.sequential:
            parts += ["--sequential"]
        if self.pct_depth != default.pct_depth:
            parts += ["--pct-depth", str(self.pct_depth)]
        if not self.monitor:
            parts += ["--no-monitor"]
        return shlex.join(parts)


@dataclass
class ScenarioResult:
    spec: ScenarioSpec
    trace_hash: str
    violations: list[Violation]
    summary: dict[str, Any]
    kernel_result: Any = field(repr=False, default=None)
    tables: dict[str, list[dict[str, Any]]] = field(repr=False, default_factory=dict)
    """The trading tables as the oracles read them after the run."""
    statement_log: list[Any] = field(repr=False, default_factory=list)
    """Every statement the simulated database received (query, args, error), in order."""
    events: list[tuple[str, Any]] = field(repr=False, default_factory=list)
    """Every published event but ticks and indicator updates, in publish order (sim/harness/snapshot.py)."""

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.spec.seed, "kernel": self.spec.kernel, "policy": self.spec.policy,
            "mode": self.spec.mode, "faults": self.spec.faults, "symbols": list(self.spec.symbols),
            "hours": self.spec.hours, "trace_hash": self.trace_hash, **self.summary,
            "violations": [v.to_json() for v in self.violations], "repro": self.spec.repro(),
        }


def run_scenario(spec: ScenarioSpec, *, schedule: list[int] | None = None, choices: Any = None,
                 trace: bool = True) -> ScenarioResult:
    """Run one scenario to the end and judge it.  Never raises for a system failure: a crash of
    the system is a violation like any other."""
    import sim.kernel

    world = _World(spec)
    started = time.perf_counter()
    result = sim.kernel.run(
        world.main, seed=spec.seed, policy=spec.policy, kernel=spec.kernel,
        schedule=schedule, choices=choices, pct_depth=spec.pct_depth, trace=trace,
    )
    wall = time.perf_counter() - started
    violations = list(result.violations)
    if result.error is not None:
        violations.append(_crash_violation(result.error))
    violations += world.judge()
    repro = spec.repro()
    violations = [v.with_repro(repro) for v in violations]  # the scenario command, not a sim.run() expression
    summary = world.summary()
    summary.update(virtual_seconds=result.virtual_seconds, wall_seconds=wall, steps=result.steps)
    return ScenarioResult(spec, result.trace_hash, violations, summary, result, world.tables,
                          world.database.statement_log if world.database is not None else [],
                          world.recorder.sequence)


def _crash_violation(error: BaseException) -> Violation:
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return Violation(
        "oracle.crash", f"the run raised {type(error).__name__}: {error}", location=where,
        expected="the session runs to completion", seen="".join(traceback.format_exception(error))[-2000:],
    )


class _World:
    """The simulated world of one run: database, market, system, monitor, recorder."""

    def __init__(self, spec: ScenarioSpec) -> None:
        self.spec = spec
        self.recorder = EventRecorder()
        self.monitor: Any = None
        self.sessions: list[oracles.SessionFacts] = []
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.ticks: list[Any] = []
        self.persistence_failures: list[Any] = []
        self.database: Any = None
        self.session_wall_seconds = 0.0
        self.leftover_subscriptions: list[str] = []
        self.venue: Any = None
        """Live mode: the simulated exchange (``sim.world.exchange.LiveVenue``)."""

    async def main(self) -> None:
        from contracts.monitor import RuntimeMonitor
        from contracts.registry import load_registry
        from contracts.schema import parse_migrations
        from sim.world.market import SimulatedMarketFeed, generate, load_into
        from sim.world.ports import DEFAULT_EPOCH, SeededIds, SeededRandom, VirtualClock
        from sim.world.questdb import SimQuestDB
        from system.config import SystemConfig
        from system.container import Container
        from system.controllers import SessionSpec

        spec = self.spec
        clock = VirtualClock(DEFAULT_EPOCH)
        plan = FaultPlan.from_spec(spec.faults)
        db = self.database = SimQuestDB(faults=plan, seed=spec.seed)
        await db.apply_migrations(migrations_dir())
        start = DEFAULT_EPOCH
        end = start + timedelta(hours=spec.hours)
        self.ticks = generate(spec.symbols, start=start, hours=spec.hours,
                              tick_seconds=spec.tick_seconds, seed=spec.seed)
        if spec.mode == "backtest":
            await load_into(db, self.ticks)
        feed = SimulatedMarketFeed(self.ticks, clock)
        config = SystemConfig.default(symbols=spec.symbols)
        live_ports: dict[str, Any] = {}
        if spec.mode == "live":  # the simulated exchange: its client, push stream, and matching feed
            from sim.world.exchange import LiveVenue

            self.venue = LiveVenue(seed=spec.seed, plan=plan, clock=clock, fee_rate=config.fee_rate,
                                   balance=config.initial_balance * spec.sessions)
            feed, live_ports = self.venue.market_feed(feed), self.venue.ports()
        container = Container(config, clock=clock, ids=SeededIds(), random=SeededRandom(spec.seed),
                              database=db, market_feed=feed, **live_ports)
        bus = container.event_bus
        bus.add_observer(self.recorder)
        if spec.monitor:
            self.monitor = RuntimeMonitor(load_registry(), parse_migrations(migrations_dir()), mode=spec.mode,
                                          location_hint=lambda: f"t={clock.monotonic():.3f}s seed {spec.seed}")
            bus.add_observer(self.monitor)
            db.add_observer(self.monitor)

        controller = container.create_unified_trading_controller()
        session_started = time.perf_counter()  # wall time of the trading itself, data set-up excluded
        await controller.start()
        session_ids = []
        for _ in range(spec.sessions):
            session_ids.append(await controller.create_session(
                SessionSpec(mode=spec.mode, symbols=spec.symbols, start=start, end=end)))
        try:
            if spec.sequential:
                for sid in session_ids:
                    await controller.start_session(sid)
                    await controller.wait_session(sid)
            else:
                for sid in session_ids:
                    await controller.start_session(sid)
                for sid in session_ids:
                    await controller.wait_session(sid)
        finally:
            for sid in session_ids:
                await controller.stop_session(sid)
            await controller.stop()
            self.session_wall_seconds = time.perf_counter() - session_started
            # liveness phase: let the WAL apply before the oracles read the tables back
            await db.wait_for_wal()
            expected = self._expected_ticks()
            for sid in session_ids:
                execution = controller.session(sid)
                om = execution.order_manager
                self.sessions.append(oracles.SessionFacts(
                    session_id=sid, mode=spec.mode, state=str(getattr(execution.state, "name", execution.state)),
                    orders=await om.get_all_orders() if om else [],
                    positions=await om.get_all_positions() if om else [],
                    account=dict(om.account()) if om else {},
                    expected_ticks=expected,
                    error=f"{type(execution.error).__name__}: {execution.error}" if execution.error else "",
                ))
            self.persistence_failures = list(controller.persistence.failures) if controller.persistence else []
            self.leftover_subscriptions = [f"{s.name} -> {s.topic}" for s in bus.subscriptions()]
            self.tables = {name: db.table_rows(name) for name in TRADING_TABLES}
            if self.venue is not None:
                await self.venue.aclose()

    def _expected_ticks(self) -> dict[str, list[float]]:
        expected: dict[str, list[float]] = {s: [] for s in self.spec.symbols}
        for tick in self.ticks:
            expected[tick.symbol].append(tick.timestamp.timestamp())
        return expected

    def judge(self) -> list[Violation]:
        found: list[Violation] = []
        if self.monitor is not None:
            found += self.monitor.violations()
        if self.sessions:
            facts = oracles.RunFacts(self.sessions, self.recorder, self.tables, self.persistence_failures,
                                     self.leftover_subscriptions, location=f"(seed {self.spec.seed})",
                                     extra={"exchange": self.venue.facts()} if self.venue else {})
            found += oracles.check_all(facts)
        return found

    def summary(self) -> dict[str, Any]:
        rec = self.recorder
        from system import topics

        signals_by_type = Counter(s.get("signal_type") for s in rec.of(topics.SIGNAL_GENERATED))
        accounts = [s.account for s in self.sessions]
        return {
            "ticks": rec.counts[topics.MARKET_PRICE_UPDATE],
            "signals": rec.counts[topics.SIGNAL_GENERATED],
            "signals_by_type": dict(sorted(signals_by_type.items(), key=lambda kv: str(kv[0]))),
            "orders": rec.counts[topics.ORDER_CREATED],
            "fills": rec.counts[topics.ORDER_FILLED],
            "rejections": rec.counts[topics.ORDER_REJECTED],
            "positions_opened": rec.counts[topics.POSITION_OPENED],
            "positions_closed": rec.counts[topics.POSITION_CLOSED],
            "realized_pnl": round(sum(a.get("realized_pnl", 0.0) for a in accounts), 8),
            "fees": round(sum(a.get("fees", 0.0) for a in accounts), 8),
            "rows": {name: len(rows) for name, rows in self.tables.items()},
            "session_wall_seconds": self.session_wall_seconds,
            "sessions": [{"session_id": s.session_id, "state": s.state} for s in self.sessions],
        }




def full_system_backtest() -> Any:
    """A fresh ``main`` for a half-hour backtest of the default symbols: the default target of
    ``simwire determinism`` (``sim.harness.scenario:full_system_backtest``)."""
    return _World(ScenarioSpec(hours=0.5)).main
