"""Full backtest pipeline throughput, measured side by side in one run.

    python bench/pipeline.py [--hours 2] [--repeat 3] [--memory-hours 24]

Runs the same backtest (same seed, same generated data) under the asyncio kernel (fifo and
random), the trio kernel, and the stock asyncio loop, with the runtime contract monitor on
and off, and prints ticks per wall second and the ratios to stock asyncio.  The figure is
the best of ``--repeat`` runs (the least disturbed by the rest of the machine).  Then it
measures peak memory (max RSS of a fresh process) for a ``--memory-hours`` backtest of three
symbols at one tick per second.

Numbers are ratios within one run on one machine; nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from typing import Any

from sim.harness.scenario import ScenarioSpec, run_scenario
from sim.harness.session import scenario_main


def stock_asyncio(spec: ScenarioSpec) -> tuple[int, float, float]:
    driver, main = scenario_main(spec)
    started = time.perf_counter()
    asyncio.run(main())
    wall = time.perf_counter() - started
    result = driver.result(wall_seconds=wall)
    if result.violations:
        raise SystemExit(f"stock asyncio run was not clean: {result.violations[0].render()}")
    return result.summary["ticks"], wall, result.summary["session_wall_seconds"]


def kernel(spec: ScenarioSpec) -> tuple[int, float, float]:
    result = run_scenario(spec, trace=False)
    if result.violations:
        raise SystemExit(f"{spec.repro()} was not clean: {result.violations[0].render()}")
    return result.summary["ticks"], result.summary["wall_seconds"], result.summary["session_wall_seconds"]


def best_rate(runner, spec: ScenarioSpec, repeat: int) -> tuple[float, float]:
    """Best ticks/s over ``repeat`` runs: of the whole run, and of the trading session alone
    (data generation and loading excluded)."""
    rates = []
    for _ in range(repeat):
        ticks, wall, session = runner(spec)
        rates.append((ticks / wall, ticks / session))
    return max(r[0] for r in rates), max(r[1] for r in rates)


def peak_memory_mb(hours: float) -> float:
    code = (
        "import resource, sys\n"
        "from sim.harness.scenario import ScenarioSpec, run_scenario\n"
        f"r = run_scenario(ScenarioSpec(hours={hours}), trace=False)\n"
        "assert not r.violations, r.violations[0].render()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-hours", type=float, default=24.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = ScenarioSpec(seed=7, hours=args.hours)
    rows = {
        "stock asyncio (monitor on)": best_rate(stock_asyncio, base, args.repeat),
        "stock asyncio (monitor off)": best_rate(stock_asyncio, ScenarioSpec(seed=7, hours=args.hours,
                                                                             monitor=False), args.repeat),
    }
    for name, spec in (
        ("asyncio kernel fifo", base),
        ("asyncio kernel random", ScenarioSpec(seed=7, hours=args.hours, policy="random")),
        ("asyncio kernel pct", ScenarioSpec(seed=7, hours=args.hours, policy="pct")),
        ("trio kernel random", ScenarioSpec(seed=7, hours=args.hours, kernel="trio", policy="random")),
        ("asyncio kernel fifo, monitor off", ScenarioSpec(seed=7, hours=args.hours, monitor=False)),
    ):
        rows[name] = best_rate(kernel, spec, args.repeat)
    stock, stock_session = rows["stock asyncio (monitor on)"]
    report: dict[str, Any] = {
        name: {"ticks_per_s": round(rate), "vs_stock": round(stock / rate, 3),
               "session_ticks_per_s": round(session), "session_vs_stock": round(stock_session / session, 3)}
        for name, (rate, session) in rows.items()
    }
    monitor_cost = 1 - rows["asyncio kernel fifo"][1] / rows["asyncio kernel fifo, monitor off"][1]
    report["monitor_cost_fraction"] = round(monitor_cost, 3)
    if args.memory_hours > 0:
        report["peak_rss_mb"] = {f"{args.memory_hours:g}h x 3 symbols": round(peak_memory_mb(args.memory_hours), 1)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"backtest, {args.hours:g} h x 3 symbols at 1 s ticks, best of {args.repeat}")
    print(f"  {'':36} {'whole run':>17} {'':14} {'session only':>17}")
    for name, (rate, session) in rows.items():
        print(f"  {name:36} {rate:>10,.0f} ticks/s {stock / rate:5.2f}x stock   {session:>10,.0f} ticks/s "
              f"{stock_session / session:5.2f}x stock")
    print(f"  runtime monitor cost (kernel fifo, session only): {monitor_cost:.1%} of throughput")
    if "peak_rss_mb" in report:
        for name, mb in report["peak_rss_mb"].items():
            print(f"  peak RSS, {name}: {mb:.0f} MB")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB max RSS)")


if __name__ == "__main__":
    main()
