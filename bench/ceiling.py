"""How fast can the per-tick pipeline go at all?  The real components, added one at a time.

    python bench/ceiling.py [--hours 2] [--repeat 3] [--whole]

``pipeline.py`` measures the whole system under the simulation kernels.  This script asks the
question under it: with no kernel, no runtime monitor, no recorder, no data source and no
database reads, what do the components that every ``market.price_update`` must go through
cost?  A plain loop on the stock asyncio loop publishes the same generated ticks, as the
historical source would, to a bus on which the real components are started one stage at a
time:

1. the bus alone (the publish of each tick, nobody subscribed);
2. + the StreamingIndicatorEngine (the default indicator set; one ``indicator.updated`` per tick);
3. + the StrategyManager (the default strategies);
4. + the BacktestOrderManager and the TradingPersistenceService on the simulated QuestDB.

Stage 4 is the trading pipeline minus the data source; its ticks per second bound what any
full run can reach in this architecture (one event per row, every component in Python).

With ``--whole``, then, in the same process: the whole default run (``simwire run --mode
backtest``: asyncio kernel, fifo, monitor on; data set-up, kernel, data source, harness and
all) and its session alone (start to stop), as ticks per wall second and as a fraction of
stage 4; and the same with the harness off (``floor.harness_off``), which no work on the
harness can beat.  Those rows come after the stages, so without ``--whole`` the last figure
printed is stage 4's, as scripts that read it expect.
Best of ``--repeat`` runs; figures are ratios within one run, nothing is asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from floor import harness_off

from sim.harness.process import prepare_process
from sim.harness.scenario import DEFAULT_SYMBOLS, ScenarioSpec, migrations_dir, run_scenario
from sim.world.market import generate
from sim.world.ports import DEFAULT_EPOCH, SeededIds, SeededRandom, VirtualClock
from sim.world.questdb import SimQuestDB
from system import topics
from system.config import SystemConfig
from system.container import Container

SESSION = "session_ceiling"
STAGES = ("bus only", "+ indicator engine", "+ strategy manager", "+ order manager and persistence")


async def run_stage(stage: int, payloads: list[dict[str, Any]]) -> tuple[float, int]:
    """Wall seconds to publish ``payloads`` with the first ``stage`` components started, and the
    number of orders the order manager placed (0 before stage 4): the stage must trade."""
    clock = VirtualClock(DEFAULT_EPOCH)
    db = SimQuestDB(seed=0)
    await db.apply_migrations(migrations_dir())
    container = Container(SystemConfig.default(symbols=DEFAULT_SYMBOLS), clock=clock, ids=SeededIds(),
                          random=SeededRandom(0), database=db)
    components: list[Any] = []
    if stage >= 2:
        components.append(container.create_indicator_engine(SESSION))
    if stage >= 3:
        components.append(container.create_strategy_manager(SESSION))
    if stage >= 4:
        components.append(container.create_trading_persistence_service())
        components.append(container.create_backtest_order_manager(SESSION))
    for component in components:
        await component.start()
    publish = container.event_bus.publish
    topic = topics.MARKET_PRICE_UPDATE
    started = time.perf_counter()
    for payload in payloads:
        await publish(topic, dict(payload))  # a fresh dict per tick, as the data source builds one
    wall = time.perf_counter() - started
    orders = len(await components[-1].get_all_orders()) if stage >= 4 else 0
    for component in reversed(components):
        await component.stop()
    return wall, orders


def tick_payloads(hours: float) -> list[dict[str, Any]]:
    ticks = generate(DEFAULT_SYMBOLS, start=DEFAULT_EPOCH, hours=hours, tick_seconds=1.0, seed=7)
    return [{"session_id": SESSION, "symbol": t.symbol, "price": t.price, "volume": t.volume,
             "quote_volume": t.quote_volume, "timestamp": t.timestamp.timestamp(), "seq": seq,
             "source": "historical"} for seq, t in enumerate(ticks)]


def whole_runs(hours: float, repeat: int) -> dict[str, tuple[int, float]]:
    """Per configuration: ticks and the best wall seconds of the whole run and of its session."""
    prepare_process()
    spec = ScenarioSpec(mode="backtest", seed=0, hours=hours)
    run_scenario(spec)  # the market data is made (and cached) before anything is timed
    best: dict[str, tuple[int, float]] = {}
    ticks = 0
    for _ in range(repeat):
        for harness, context in (("", contextlib.nullcontext), (", harness off", harness_off)):
            with context():
                result = run_scenario(spec)
            if not harness:  # the recorder counts the ticks: with the harness off, nothing does
                if result.violations:
                    raise SystemExit(f"the default run was not clean: {result.violations[0].render()}")
                ticks = result.summary["ticks"]
            for name, wall in ((f"whole default run{harness}", result.summary["wall_seconds"]),
                               (f"  its session{harness}", result.summary["session_wall_seconds"])):
                best[name] = (ticks, min(best.get(name, (ticks, wall))[1], wall))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--whole", action="store_true",
                        help="also the whole default run and its session, with the harness and without")
    args = parser.parse_args()
    if args.hours <= 0 or args.repeat < 1:
        parser.error("--hours must be positive and --repeat at least 1")
    payloads = tick_payloads(args.hours)
    report: dict[str, Any] = {}
    for stage, name in enumerate(STAGES, start=1):
        wall, orders = min(asyncio.run(run_stage(stage, payloads)) for _ in range(args.repeat))
        if stage == len(STAGES) and not orders:
            raise SystemExit("the full stage placed no orders: the measurement would not include trading")
        report[name] = {"ticks_per_s": round(len(payloads) / wall), "us_per_tick": round(wall / len(payloads) * 1e6, 2),
                        "orders": orders}
    full = report[STAGES[-1]]["ticks_per_s"]
    for name, (ticks, wall) in (whole_runs(args.hours, args.repeat) if args.whole else {}).items():
        report[name] = {"ticks_per_s": round(ticks / wall), "us_per_tick": round(wall / ticks * 1e6, 2),
                        "of_full_stage": round(ticks / wall / full, 3), "orders": 0}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(payloads):,} ticks ({args.hours:g} h x {len(DEFAULT_SYMBOLS)} symbols), stock asyncio, "
          f"no kernel, no monitor, best of {args.repeat}")
    for name, row in report.items():
        orders = f"  ({row['orders']} orders)" if row["orders"] else ""
        orders += f"  {row['of_full_stage']:.2f} of the full stage" if "of_full_stage" in row else ""
        print(f"  {name:34} {row['ticks_per_s']:>10,} ticks/s  {row['us_per_tick']:6.2f} us/tick{orders}")


if __name__ == "__main__":
    main()
