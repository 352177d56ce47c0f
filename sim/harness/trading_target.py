"""The built-in target: the trading system of ``system/`` (``--target trading``, the default).

Built from the world's ports plus what only trading needs: seeded market data (from the
spec's ``data_seed``) loaded into the database for backtests, a replayed feed for paper, and
the simulated MEXC exchange for live runs.  Its oracles are ``sim.harness.oracles`` (accounting, rows
persisted, isolation, the exchange's books...), which only make sense for trading.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sim.harness.spec import MODES, ScenarioSpec, SpecError
from sim.harness.targets import BaseTarget, Ports, SessionRecord
from simwire.violation import Violation

TRADING_TABLES = ("sessions", "strategy_signals", "orders", "positions")


def migrations_dir() -> Path:
    import system

    return Path(system.__file__).parent / "migrations"


class TradingTarget(BaseTarget):
    name = "trading"
    modes = MODES
    tables = TRADING_TABLES

    def migrations(self) -> Path:
        return migrations_dir()

    def registry(self) -> Any:
        from contracts.registry import load_registry

        return load_registry()

    def check(self, spec: ScenarioSpec, *, simulated: bool) -> None:
        super().check(spec, simulated=simulated)
        if not simulated and (spec.mode != "backtest" or spec.sessions != 1):
            raise SpecError(f"--db runs one backtest session (paper and live would replay their feed in real "
                            f"time); got --mode {spec.mode} --sessions {spec.sessions}")

    async def build(self, ports: Ports) -> TradingSystem:
        from sim.world.market import SimulatedMarketFeed, generate, load_into
        from sim.world.ports import DEFAULT_EPOCH
        from system.config import SystemConfig
        from system.container import Container

        spec, db = ports.spec, ports.database
        ticks = generate(spec.symbols, start=DEFAULT_EPOCH, hours=spec.hours, tick_seconds=spec.tick_seconds,
                         seed=spec.market_seed)
        if spec.mode == "backtest":
            if ports.simulated:
                await load_into(db, ticks)
            else:
                from sim.harness.realdb import load_ticks

                await load_ticks(db, ticks)
                await db.wait_for_wal()
        feed: Any = SimulatedMarketFeed(ticks, ports.clock)
        config = SystemConfig.default(symbols=spec.symbols)
        venue, live_ports = None, {}
        if spec.mode == "live":  # the simulated exchange: its client, push stream, and matching feed
            from sim.world.exchange import LiveVenue

            venue = LiveVenue(seed=spec.seed, plan=ports.faults, clock=ports.clock, fee_rate=config.fee_rate,
                              balance=config.initial_balance * spec.sessions)
            feed, live_ports = venue.market_feed(feed), venue.ports()
        container = Container(config, clock=ports.clock, ids=ports.ids, random=ports.random, database=db,
                              market_feed=feed, **live_ports)
        return TradingSystem(container, spec, ticks, venue)

    def judge(self, record: SessionRecord) -> list[Violation]:
        from sim.harness import oracles

        facts = record.facts
        if not facts.get("sessions"):
            return []
        return oracles.check_all(oracles.RunFacts(
            facts["sessions"], record.recorder, record.tables, facts["persistence_failures"],
            record.leftover_subscriptions, location=record.location,
            extra={"exchange": facts["exchange"]} if facts.get("exchange") is not None else {}))

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
            "positions_opened": rec.counts[topics.POSITION_OPENED],
            "positions_closed": rec.counts[topics.POSITION_CLOSED],
            "realized_pnl": round(sum(a.get("realized_pnl", 0.0) for a in accounts), 8),
            "fees": round(sum(a.get("fees", 0.0) for a in accounts), 8),
            "rows": {name: len(rows) for name, rows in record.tables.items()},
            "sessions": [{"session_id": s.session_id, "state": s.state} for s in sessions],
        }


class TradingSystem:
    """The container's unified controller running ``spec.sessions`` sessions."""

    def __init__(self, container: Any, spec: ScenarioSpec, ticks: list[Any], venue: Any) -> None:
        self.container = container
        self.bus = container.event_bus
        self.spec = spec
        self.ticks = ticks
        self.venue = venue
        self.controller: Any = None
        self.session_ids: list[str] = []
        self.started = False
        """True once the controller started and every session was created: only then is there a
        session to stop and facts to read (a start that raised is reported as the crash)."""

    async def start(self) -> None:
        from sim.world.ports import DEFAULT_EPOCH
        from system.controllers import SessionSpec

        spec = self.spec
        self.controller = self.container.create_unified_trading_controller()
        await self.controller.start()
        end = DEFAULT_EPOCH + timedelta(hours=spec.hours)
        for _ in range(spec.sessions):
            self.session_ids.append(await self.controller.create_session(
                SessionSpec(mode=spec.mode, symbols=spec.symbols, start=DEFAULT_EPOCH, end=end)))
        self.started = True

    async def run(self) -> None:
        controller = self.controller
        if self.spec.sequential:
            for sid in self.session_ids:
                await controller.start_session(sid)
                await controller.wait_session(sid)
        else:
            for sid in self.session_ids:
                await controller.start_session(sid)
            for sid in self.session_ids:
                await controller.wait_session(sid)

    async def stop(self) -> None:
        if not self.started:
            return
        for sid in self.session_ids:
            await self.controller.stop_session(sid)
        await self.controller.stop()

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
                "exchange": self.venue.facts() if self.venue is not None else None}

    def row_scope(self) -> tuple[str, list[str]] | None:
        return ("session_id", list(self.session_ids))

    async def close(self) -> None:
        if self.venue is not None:
            await self.venue.aclose()

    def _expected_ticks(self) -> dict[str, list[float]]:
        expected: dict[str, list[float]] = {s: [] for s in self.spec.symbols}
        for tick in self.ticks:
            expected[tick.symbol].append(tick.timestamp.timestamp())
        return expected


TRADING = TradingTarget()


def full_system_backtest() -> Any:
    """A fresh ``main`` for a half-hour backtest of the default symbols (a ``sim.run`` program)."""
    from sim.harness.session import scenario_main

    return scenario_main(ScenarioSpec(hours=0.5))[1]
