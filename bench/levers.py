"""What each throughput lever of the harness is worth, measured on its own in one process.

    python bench/levers.py [--seeds 6] [--rounds 3] [--hours 2]

Runs ``--seeds`` default backtests the way ``simwire explore`` runs them (``run_one``: lean
trace, monitor on, asyncio fifo), once with every lever on and once with each lever switched
off alone, interleaved over ``--rounds`` rounds, and prints the best CPU seconds per seed of
each configuration (process CPU, not wall: the figure then means something on a shared
machine) and seeds per CPU-second.  Levers:

- ``market data cache``: generated ticks read from the file a previous process wrote (the
  case of every mutant's probe and of CI re-exploring its seeds; off: generated every run);
- ``bulk load``: ``load_rows`` filing whole columns with the collector paused (off: row by row);
- ``compiled payload checks``: one generated function per topic (off: the generic walk);
- ``start-up frozen``: start-up objects out of the collector's generations (off: unfrozen);
- ``harness``: the bus observers, statement checks and judges (off: ``floor.harness_off``, the
  floor no work on the harness can beat; a seeds-per-CPU-second target above its figure needs
  a faster system, world or kernel).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from unittest import mock

from floor import harness_off

from contracts import monitor
from sim.harness.explore import run_one
from sim.harness.process import prepare_process
from sim.harness.scenario import ScenarioSpec
from sim.world.market import cache
from sim.world.questdb import database


@contextlib.contextmanager
def no_market_cache() -> Iterator[None]:
    with mock.patch.dict(os.environ, {"SIMWIRE_CACHE_DIR": "off"}), mock.patch.object(cache, "MEMORY_TICKS", 0):
        cache.clear_memory()
        yield


@contextlib.contextmanager
def row_by_row_load() -> Iterator[None]:
    with mock.patch.object(database.SimQuestDB, "_load_whole_columns", staticmethod(lambda store, rows: None)), \
            mock.patch.object(database, "_collector_paused", contextlib.nullcontext):
        yield


@contextlib.contextmanager
def generic_payload_walk() -> Iterator[None]:
    original = monitor._PayloadValidator.__init__

    def init(self: monitor._PayloadValidator, topic: object) -> None:
        original(self, topic)
        self.complete_and_clean = lambda payload: False

    with mock.patch.object(monitor._PayloadValidator, "__init__", init):
        yield


@contextlib.contextmanager
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.freeze()


CONFIGS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "all levers on": contextlib.nullcontext,
    "market data cache off": no_market_cache,
    "bulk load off": row_by_row_load,
    "compiled payload checks off": generic_payload_walk,
    "start-up frozen off": unfrozen,
    "harness off (the floor)": harness_off,
}


def cpu_per_seed(seeds: range, hours: float) -> float:
    started = time.process_time()
    for seed in seeds:
        cache.clear_memory()  # each explored seed is new to the process: the file is what hits
        outcome = run_one(ScenarioSpec(seed=seed, hours=hours))
        if outcome.violations:
            raise SystemExit(f"seed {seed} was not clean: {outcome.violations[0].render()}")
    return (time.process_time() - started) / len(seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=2.0)
    args = parser.parse_args()
    if args.seeds < 1 or args.rounds < 1 or args.hours <= 0:
        parser.error("--seeds and --rounds must be at least 1 and --hours positive")
    with tempfile.TemporaryDirectory() as directory, mock.patch.dict(os.environ, {"SIMWIRE_CACHE_DIR": directory}):
        prepare_process()
        seeds = range(1, 1 + args.seeds)
        cpu_per_seed(seeds, args.hours)  # warm: the file and memory caches hold these seeds now
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, config in CONFIGS.items():
                with config():
                    figure = cpu_per_seed(seeds, args.hours)
                best[name] = min(best.get(name, figure), figure)
    base = best["all levers on"]
    print(f"{args.seeds} seeds x {args.hours:g} h backtest as explore runs them, best of {args.rounds} rounds")
    for name, figure in best.items():
        change = "" if name == "all levers on" else f"  ({figure / base - 1:+.0%} CPU without it)"
        print(f"  {name:30} {figure:6.3f} CPU s/seed  {1 / figure:5.2f} seeds/CPU-s{change}")


if __name__ == "__main__":
    main()
