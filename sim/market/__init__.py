"""Market data for simulated runs: seeded generators, CSV loading, loading into the simulated
QuestDB, and the simulated live feed for paper mode."""

from sim.market.csv_files import CsvError, load_csv
from sim.market.feed import SimulatedMarketFeed
from sim.market.generators import DEFAULT_REGIMES, REGIMES, generate, iter_ticks
from sim.market.loading import load_into

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
