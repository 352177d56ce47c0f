"""The built-in target: the trading system of ``system/`` (``--target trading``, the default).

Built from the world's ports plus what only trading needs: seeded market data (from the
spec's ``data_seed``) loaded into the database for backtests, a replayed feed for paper, and
the simulated MEXC exchange for live runs.  Its oracles are ``sim.harness.oracles`` (accounting, rows
persisted, isolation, the exchange's books...), which only make sense for trading, the reference
model (``sim.harness.model``) and, in simulated paper and live runs, the liveness phase
(``sim.harness.liveness``), run beside the sessions.
"""

from __future__ import annotations

import gc
import logging
import math
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio

from sim.harness.crashes import CrashSchedule, CrashTrigger
from sim.harness.liveness import LivenessPhase, watching
from sim.harness.model import ModelSettings, StrategyReplay, check_model
from sim.harness.recorder import EventRecorder
from sim.harness.spec import MODES, ScenarioSpec, SpecError
from sim.harness.storage_oracle import StorageGateWatch
from sim.harness.targets import BaseTarget, Ports, SessionRecord
from sim.world.crash import KillSwitch
from sim.world.questdb import statement_counts
from simwire.violation import Violation

TRADING_TABLES = ("sessions", "strategy_signals", "orders", "positions")


def migrations_dir() -> Path:
    import system

    return Path(system.__file__).parent / "migrations"


class TradingTarget(BaseTarget):
    name = "trading"
    modes = MODES
    tables = TRADING_TABLES
    restarts = True

    def migrations(self) -> Path:
        return migrations_dir()

    def registry(self) -> Any:
        from contracts.registry import load_registry

        return load_registry()

    def check(self, spec: ScenarioSpec, *, simulated: bool) -> None:
        super().check(spec, simulated=simulated)
        if spec.sequential and spec.fault_plan().site("process").crash_rate > 0:
            raise SpecError("--sequential runs sessions one after the other; crash faults restart them all "
                            "together: drop one of the two")
        if not simulated and (spec.mode != "backtest" or spec.sessions != 1):
            raise SpecError(f"--db runs one backtest session (paper and live would replay their feed in real "
                            f"time); got --mode {spec.mode} --sessions {spec.sessions}")

    async def build(self, ports: Ports) -> TradingSystem:
        from sim.world.market import load_into, market_ticks
        from sim.world.ports import DEFAULT_EPOCH
        from system.config import SystemConfig

        spec, db = ports.spec, ports.database
        ticks = market_ticks(spec.symbols, start=DEFAULT_EPOCH, hours=spec.hours,  # made once per data seed
                             tick_seconds=spec.tick_seconds, seed=spec.market_seed)
        if spec.mode == "backtest":
            if ports.simulated:
                await load_into(db, ticks)
            else:
                from sim.harness.realdb import load_ticks

                await load_ticks(db, ticks)
                await db.wait_for_wal()
        config = SystemConfig.default(symbols=spec.symbols)
        venue = None
        if spec.mode == "live":  # the simulated exchange: its client, push stream, and matching feed
            from sim.world.exchange import LiveVenue

            venue = LiveVenue(seed=spec.seed, plan=ports.faults, clock=ports.clock, fee_rate=config.fee_rate,
                              balance=config.initial_balance * spec.sessions)
        system = TradingSystem(ports, config, ticks, venue)
        if ports.simulated:  # what the liveness phase switches off
            system.fault_injectors = getattr(db, "fault_injectors", ()) + (venue.fault_injectors if venue else ())
        return system

    def judge(self, record: SessionRecord) -> list[Violation]:
        from contracts.refusals import uninjected_refusals
        from sim.harness import oracles

        facts = record.facts
        if not facts.get("sessions"):
            return []
        settings, replay = facts["model"]
        # after a crash the event-level oracles judge the last incarnation's own events (what a
        # dead process published and never wrote is not a loss); the tables and the exchange,
        # which outlive it, are judged whole
        recorder = facts.get("recorder") or record.recorder
        found = uninjected_refusals(facts.get("exchange_refusals", []))
        found += oracles.check_all(oracles.RunFacts(
            facts["sessions"], recorder, record.tables, facts["persistence_failures"],
            record.leftover_subscriptions, location=record.location,
            extra={"exchange": facts.get("exchange"), "crashes": facts.get("crashes", 0)}))
        found += facts["liveness"] + facts["storage_gate"].violations(record.location)
        found += oracles.sessions_finished(record.tables.get("sessions", []), location=record.location)
        if not facts.get("crashes"):  # the model replays one uninterrupted process (docs/crashes.md)
            found += check_model(record.recorder, settings, [s.session_id for s in facts["sessions"]],
                                 replay=replay, location=record.location)
        return found

    def summary(self, record: SessionRecord) -> dict[str, Any]:
        from system import topics

        rec = record.recorder
        sessions = record.facts.get("sessions", [])
        signals_by_type = Counter(s.get("signal_type") for s in rec.of(topics.SIGNAL_GENERATED))
        accounts = [s.account for s in sessions]
        single = {"session_id": sessions[0].session_id, "state": sessions[0].state} if len(sessions) == 1 else {}
        return {
            **single,
            "ticks": rec.counts[topics.MARKET_PRICE_UPDATE],
            "signals": rec.counts[topics.SIGNAL_GENERATED],
            "signals_by_type": dict(sorted(signals_by_type.items(), key=lambda kv: str(kv[0]))),
            "orders": rec.counts[topics.ORDER_CREATED],
            "fills": rec.counts[topics.ORDER_FILLED],
            "rejections": rec.counts[topics.ORDER_REJECTED],
            "storage_suspensions": rec.counts[topics.STORAGE_TABLE_SUSPENDED],
            "crashes": record.facts.get("crashes", 0),
            "positions_opened": rec.counts[topics.POSITION_OPENED],
            "positions_closed": rec.counts[topics.POSITION_CLOSED],
            "realized_pnl": round(sum(a.get("realized_pnl", 0.0) for a in accounts), 8),
            "fees": round(sum(a.get("fees", 0.0) for a in accounts), 8),
            "rows": {name: len(rows) for name, rows in record.tables.items()},
            "statements": statement_counts(record.statement_log),
            "sessions": [{"session_id": s.session_id, "state": s.state} for s in sessions],
            "data_start": record.facts.get("data_span", ("", ""))[0],
            "data_end": record.facts.get("data_span", ("", ""))[1],
        }


class TradingSystem:
    """The container's unified controller running ``spec.sessions`` sessions.

    With ``process`` faults (``--faults crash``) the run is a series of *incarnations*: each a
    fresh Container on severed ports (``sim.world.crash``) over the same database, exchange and
    market, started, run until the sessions end or the process dies (:mod:`sim.harness.crashes`),
    then stopped or abandoned.  After a crash and its downtime the next incarnation recovers
    the way the system does in production (``UnifiedTradingController.recover``): paper and
    live sessions are resumed with their books rebuilt from the tables, an interrupted backtest
    is closed and run again from the start as a new session."""

    def __init__(self, ports: Ports, config: Any, ticks: list[Any], venue: Any) -> None:
        self.ports = ports
        self.spec = spec = ports.spec
        self.config = config
        self.ticks = ticks
        self.venue = venue
        self.controller: Any = None
        self.session_ids: list[str] = []
        self.interrupted_ids: list[str] = []
        """Backtest sessions a crash cut off (closed INTERRUPTED by the recovery, run again)."""
        self.started = False
        """True once the controller started and every session was created: only then is there a
        session to stop and facts to read (a start that raised is reported as the crash)."""
        self.model: tuple[ModelSettings, StrategyReplay] | None = None
        """The reference model's settings and its strategy replay (a bus observer)."""
        self.storage_gate = StorageGateWatch()
        self.fault_injectors: tuple[Any, ...] = ()
        self.liveness: LivenessPhase | None = None
        self.bus = ObservedBus()
        """The bus of the incarnation running now; observers added here follow every restart."""
        self.crash_schedule = _crash_schedule(ports)
        self.switch: KillSwitch | None = None
        self.crash_times: list[float] = []
        """Market-data time (epoch seconds) of each crash."""
        self.resumed_from: float | None = None
        """Market-data time the last incarnation's feed starts at (paper and live after a crash)."""
        self.recorder: EventRecorder | None = None
        """After a crash: the last incarnation's own events (what the event-level oracles judge)."""
        self.container = self._incarnate(0)
        self.model = ModelSettings.from_config(config, spec.mode), StrategyReplay(config.strategies)
        self.container.event_bus.add_observer(self.model[1])  # the reference model's view of the strategies

    # -- one incarnation ---------------------------------------------------------------------

    def _incarnate(self, incarnation: int) -> Any:
        """A fresh Container on this incarnation's ports (severed ones when crashes are on)."""
        from sim.world.market import SimulatedMarketFeed
        from system.container import Container

        ports, spec = self.ports, self.spec
        clock, database, ids, random = ports.clock, ports.database, ports.ids, ports.random
        live_ports = self.venue.ports() if self.venue is not None else {}
        ticks = self.ticks
        if self.crash_schedule is not None:
            from sim.world.crash import KillSwitch, Severed
            from sim.world.ports import SeededIds, SeededRandom

            self.switch = switch = KillSwitch(incarnation)
            clock, database = Severed(clock, switch), Severed(database, switch)
            live_ports = {name: Severed(port, switch) for name, port in live_ports.items()}
            if incarnation:  # production ids are uuids: a restarted process never repeats one
                ids, random = SeededIds(f"r{incarnation}_"), SeededRandom(spec.sub_seed(f"random:{incarnation}"))
            if self.resumed_from is not None:  # live data resumes at the restart: the downtime's ticks are gone
                ticks = [tick for tick in ticks if tick.timestamp.timestamp() >= self.resumed_from]
        feed: Any = SimulatedMarketFeed(ticks, clock)
        if self.venue is not None:
            feed = self.venue.market_feed(feed)
        container = Container(self.config, clock=clock, ids=ids, random=random, database=database,
                              market_feed=feed, **live_ports)
        self.bus.attach(container.event_bus)
        container.event_bus.add_observer(self.storage_gate)
        return container

    # -- the session -------------------------------------------------------------------------

    async def start(self) -> None:
        if self.crash_schedule is None:
            await self._start_sessions(start_now=False)

    async def _start_sessions(self, *, start_now: bool = True, recover: bool = False) -> None:
        from sim.world.ports import DEFAULT_EPOCH
        from system.controllers import SessionSpec

        spec = self.spec
        self.controller = self.container.create_unified_trading_controller()
        await self.controller.start()
        if recover:
            resumed = await self.controller.recover()
            self.interrupted_ids += [sid for sid in self.session_ids if sid not in resumed]
            self.session_ids = resumed
        end = DEFAULT_EPOCH + timedelta(hours=spec.hours)
        while len(self.session_ids) < spec.sessions:  # first start, or backtests run again after a crash
            self.session_ids.append(await self.controller.create_session(
                SessionSpec(mode=spec.mode, symbols=spec.symbols, start=DEFAULT_EPOCH, end=end)))
        self.started = True
        if start_now:
            for sid in self.session_ids:
                await self.controller.start_session(sid)

    async def run(self) -> None:
        if self.crash_schedule is not None:
            await self._run_with_crashes()
            return
        controller = self.controller
        if self.spec.sequential:
            for sid in self.session_ids:
                await controller.start_session(sid)
                await controller.wait_session(sid)
        else:
            for sid in self.session_ids:
                await controller.start_session(sid)
            await self._wait_sessions()

    async def _wait_sessions(self) -> None:
        self.liveness = self._liveness_phase()
        async with watching(self.liveness):  # the safety phase, then the liveness phase beside the sessions
            for sid in self.session_ids:
                await self.controller.wait_session(sid)

    async def _run_with_crashes(self) -> None:
        """Incarnations until one runs its sessions to the end; each crash is followed by its
        downtime (the exchange matching the market meanwhile) and a recovering restart."""
        assert self.crash_schedule is not None
        incarnation = 0
        while True:
            if await self._incarnation(recover=incarnation > 0):
                return
            incarnation += 1
            await self._down(self.crash_schedule.downtime())
            self.container = self._incarnate(incarnation)

    async def _incarnation(self, *, recover: bool) -> bool:
        """One life of the process; True if it ran to the end, False if it crashed."""
        assert self.switch is not None and self.crash_schedule is not None
        switch, bus = self.switch, self.container.event_bus
        self.recorder = EventRecorder()
        bus.add_observer(self.recorder)
        start = self.ticks[0].timestamp.timestamp() if self.spec.mode == "backtest" or not self.ticks \
            else self.ports.clock.now().timestamp()
        schedule = self.crash_schedule
        trigger = CrashTrigger(switch, schedule.next_crash(after=start, window_end=self._crash_window_end()),
                               then=schedule.publishes_after(), work=_trading_work)
        bus.add_observer(trigger)
        switch.on_kill(lambda: self.bus.detach(bus))
        gc_was_enabled = gc.isenabled()
        switch.on_kill(gc.disable)  # see _collect_the_dead
        with switch.scope:
            try:
                await self._start_sessions(recover=recover)
                await self._wait_sessions()
                await self._stop_sessions()
            except BaseException:
                if not switch.killed:
                    raise
            finally:
                if switch.killed:
                    try:
                        await self._abandon()
                    finally:
                        _collect_the_dead(gc_was_enabled)
        if not switch.killed:
            return True
        self.crash_times.append(trigger.last_tick if trigger.last_tick is not None else start)
        self.started = False
        return False

    async def _abandon(self) -> None:
        """Let the dead incarnation's task group end (its tasks are cancelled, its ports severed),
        so nothing of it outlives the crash; whatever that raises died with the process."""
        if self.controller is None:
            return
        muted = logging.root.manager.disable
        logging.disable(logging.CRITICAL)  # a dead process writes no log: what it would say is no news
        try:  # in the cancelled scope: the controller's task group was entered inside it
            await self.controller.stop()
        except BaseException as error:  # ProcessKilled and what it took down
            if not _died(error):
                raise
        finally:
            logging.disable(muted)

    async def _down(self, seconds: float) -> None:
        """The process is down: the exchange keeps matching the market; then the restart."""
        clock = self.ports.clock
        until = clock.monotonic() + seconds
        if self.venue is not None:
            for tick in self.ticks:
                moment = clock.to_virtual(tick.timestamp)
                if moment <= clock.monotonic():
                    continue
                if moment > until:
                    break
                await clock.sleep(moment - clock.monotonic())
                self.venue.exchange.on_tick(tick)
        if until > clock.monotonic():
            await clock.sleep(until - clock.monotonic())
        if self.spec.mode != "backtest":
            self.resumed_from = clock.now().timestamp()

    def _crash_window_end(self) -> float:
        """No crash after this market-data time: the liveness phase needs a recovered system."""
        if not self.ticks:
            return 0.0
        first, last = self.ticks[0].timestamp.timestamp(), self.ticks[-1].timestamp.timestamp()
        if self.spec.mode == "backtest":
            return first + 0.9 * (last - first)
        from sim.harness.liveness import BOUND

        return last - BOUND - RECOVERY_MARGIN

    async def stop(self) -> None:
        if self.crash_schedule is None:
            await self._stop_sessions()

    async def _stop_sessions(self) -> None:
        if not self.started:
            return
        for sid in self.session_ids:
            await self.controller.stop_session(sid)
        await self.controller.stop()

    # -- what the oracles read ---------------------------------------------------------------

    async def facts(self) -> dict[str, Any]:
        from sim.harness import oracles

        if not self.started:
            return {}
        expected = self._expected_ticks()
        sessions = []
        for sid in self.session_ids:
            execution = self.controller.session(sid)
            om = execution.order_manager
            sessions.append(oracles.SessionFacts(
                session_id=sid, mode=self.spec.mode, state=str(getattr(execution.state, "name", execution.state)),
                orders=await om.get_all_orders() if om else [],
                positions=await om.get_all_positions() if om else [],
                account=dict(om.account()) if om else {},
                expected_ticks=expected,
                error=f"{type(execution.error).__name__}: {execution.error}" if execution.error else "",
            ))
        persistence = self.controller.persistence
        return {"sessions": sessions, "persistence_failures": list(persistence.failures) if persistence else [],
                "exchange": self.venue.facts() if self.venue is not None else None,
                "exchange_refusals": list(self.venue.api.refusals) if self.venue is not None else [],
                "model": self.model,
                "storage_gate": self.storage_gate,
                "liveness": list(self.liveness.violations) if self.liveness is not None else [],
                "crashes": len(self.crash_times),
                "crash_times": list(self.crash_times),
                "interrupted_sessions": list(self.interrupted_ids),
                "recorder": self.recorder if self.crash_times else None,
                # the market-data time covered (a backtest's virtual clock stands still): sim.cli.report.data_span
                "data_span": (self.ticks[0].timestamp.isoformat(), self.ticks[-1].timestamp.isoformat())
                if self.ticks else ("", "")}

    def row_scope(self) -> tuple[str, list[str]] | None:
        return ("session_id", [*self.interrupted_ids, *self.session_ids])

    async def close(self) -> None:
        if self.venue is not None:
            await self.venue.aclose()

    def _liveness_phase(self) -> LivenessPhase | None:
        """Simulated paper and live runs: faults off for the last stretch, convergence judged
        before the stop (``sim.harness.liveness``)."""
        clock = self.container.clock
        if not hasattr(clock, "to_virtual"):  # a real-database run: real time, nothing to switch off
            return None
        return LivenessPhase.for_run(
            mode=self.spec.mode, last_tick=clock.to_virtual(self.ticks[-1].timestamp),
            tick_seconds=self.spec.tick_seconds, injectors=self.fault_injectors, controller=self.controller,
            session_ids=self.session_ids, clock=clock, venue=self.venue, location=f"(seed {self.spec.seed})")

    def _expected_ticks(self) -> dict[str, list[float]]:
        expected: dict[str, list[float]] = {s: [] for s in self.spec.symbols}
        floor = self.resumed_from if self.resumed_from is not None else -math.inf
        for tick in self.ticks:
            moment = tick.timestamp.timestamp()
            if moment >= floor:
                expected[tick.symbol].append(moment)
        return expected


RECOVERY_MARGIN = 60.0
"""Market-data seconds kept free of crashes before the liveness phase, for the last restart."""


class ObservedBus:
    """The bus of whichever incarnation runs now: observers added once (the driver's recorder
    and monitor) are attached to every incarnation's bus, and taken off a dead one at the kill,
    so what a dying process still publishes is nobody's record."""

    def __init__(self) -> None:
        self._observers: list[Any] = []
        self._bus: Any = None

    def attach(self, bus: Any) -> None:
        """Observe ``bus`` from now on; an observer with ``on_restart`` is told when it is not the first."""
        restart, self._bus = self._bus is not None, bus
        for observer in self._observers:
            if restart and hasattr(observer, "on_restart"):
                observer.on_restart()
            bus.add_observer(observer)

    def detach(self, bus: Any) -> None:
        for observer in self._observers:
            bus.remove_observer(observer)

    def add_observer(self, observer: Any) -> None:
        self._observers.append(observer)
        self._bus.add_observer(observer)

    def remove_observer(self, observer: Any) -> None:
        self._observers.remove(observer)
        self._bus.remove_observer(observer)

    def subscriptions(self) -> Any:
        return self._bus.subscriptions()


def _trading_work(topic: str, payload: Any) -> bool:
    """What a crash of the trading system should cut into: orders, fills, positions, and the
    signals that make them (``sim.harness.crashes.CrashTrigger``)."""
    return topic.startswith(("order_", "position")) or (
        topic == "signal_generated" and payload.get("signal_type") in ("Z1", "ZE1", "E1"))


def _crash_schedule(ports: Ports) -> CrashSchedule | None:
    plan = ports.faults
    if not ports.simulated or plan is None or plan.site("process").crash_rate <= 0:
        return None
    return CrashSchedule(plan.injector("process", ports.spec.seed))


def _collect_the_dead(gc_was_enabled: bool) -> None:
    """Collect the dead incarnation at once; automatic collection was off since the kill.

    Its tasks end holding ProcessKilled tracebacks, cycles that keep their async generators
    alive until a collection; a collection finalizes each generator by scheduling its
    ``aclose()`` as a task.  Left to the collector's own thresholds, that would happen at a
    different step in a process's first run than in its next, and change the trace."""
    gc.collect()
    if gc_was_enabled:
        gc.enable()


def _died(error: BaseException) -> bool:
    """The error is the crash itself: ProcessKilled, cancellations, or a group of only those."""
    from sim.world.crash import ProcessKilled

    if isinstance(error, BaseExceptionGroup):
        return all(_died(inner) for inner in error.exceptions)
    return isinstance(error, ProcessKilled | anyio.get_cancelled_exc_class())


TRADING = TradingTarget()


def full_system_backtest() -> Any:
    """A fresh ``main`` for a half-hour backtest of the default symbols (a ``sim.run`` program)."""
    from sim.harness.session import scenario_main

    return scenario_main(ScenarioSpec(hours=0.5))[1]
