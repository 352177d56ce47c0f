"""How fast can the per-tick pipeline go at all?  The real components, added one at a time.

    python bench/ceiling.py [--hours 2] [--repeat 3]

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
Best of ``--repeat`` runs; figures are ratios within one run, nothing is asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from sim.harness.scenario import DEFAULT_SYMBOLS, migrations_dir
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
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
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(payloads):,} ticks ({args.hours:g} h x {len(DEFAULT_SYMBOLS)} symbols), stock asyncio, "
          f"no kernel, no monitor, best of {args.repeat}")
    for name, row in report.items():
        orders = f"  ({row['orders']} orders)" if row["orders"] else ""
        print(f"  {name:34} {row['ticks_per_s']:>10,} ticks/s  {row['us_per_tick']:6.2f} us/tick{orders}")


if __name__ == "__main__":
    main()
