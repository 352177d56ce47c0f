"""Market-data sources: the historical replay (backtest) and the live-like feed (paper, live)."""

from system.data.historical import QuestDBHistoricalDataSource
from system.data.live import LiveMarketDataSource

__all__ = ["LiveMarketDataSource", "QuestDBHistoricalDataSource"]
