"""Market data for simulated runs: seeded generators, CSV loading, loading into the simulated
QuestDB, and the simulated live feed for paper mode."""

from sim.world.market.csv_files import CsvError, load_csv
from sim.world.market.feed import SimulatedMarketFeed
from sim.world.market.generators import DEFAULT_REGIMES, REGIMES, generate, iter_ticks
from sim.world.market.loading import load_into

__all__ = [
    "DEFAULT_REGIMES",
    "REGIMES",
    "CsvError",
    "SimulatedMarketFeed",
    "generate",
    "iter_ticks",
    "load_csv",
    "load_into",
]
