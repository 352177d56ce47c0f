"""Order managers: paper, backtest and (placeholder) live, over one shared accounting base."""

from system.orders.backtest import BacktestOrderManager
from system.orders.base import (
    POSITION_UPDATE_INTERVAL,
    OrderManagerBase,
    OrderManagerConfigError,
    SignalError,
)
from system.orders.live import LiveOrderManager, LiveTradingUnavailable
from system.orders.paper import OrderManager

__all__ = [
    "POSITION_UPDATE_INTERVAL",
    "BacktestOrderManager",
    "LiveOrderManager",
    "LiveTradingUnavailable",
    "OrderManager",
    "OrderManagerBase",
    "OrderManagerConfigError",
    "SignalError",
]
