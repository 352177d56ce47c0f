"""Order managers: paper, backtest and live (MEXC futures), over one shared accounting base."""

from system.orders.backtest import BacktestOrderManager
from system.orders.base import (
    POSITION_UPDATE_INTERVAL,
    OrderManagerBase,
    OrderManagerConfigError,
    SignalError,
)
from system.orders.live import LiveOrderManager, external_oid
from system.orders.paper import OrderManager

__all__ = [
    "POSITION_UPDATE_INTERVAL",
    "BacktestOrderManager",
    "LiveOrderManager",
    "OrderManager",
    "OrderManagerBase",
    "OrderManagerConfigError",
    "SignalError",
    "external_oid",
]
