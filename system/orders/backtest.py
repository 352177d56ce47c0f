"""BacktestOrderManager: market orders fill at once, at the last market price.

History is replayed as fast as it can be read, so there is no "next tick" to wait for: an
order fills at the price that produced its signal, moved by slippage, and pays the fee.
Lock discipline and accounting: see :mod:`system.orders.base`.
"""

from __future__ import annotations

from system.orders.base import OrderManagerBase
from system.orders.records import Event, Order


class BacktestOrderManager(OrderManagerBase):
    def _execute(self, order: Order) -> list[Event]:
        price, timestamp = self._last_price[order.symbol]
        return self._fill(order, price, timestamp)
