"""OrderManager (paper trading): market orders fill on the symbol's next price update.

In paper mode prices arrive live, so an order placed now is filled by the first later tick
(strictly later event time: the tick that produced the signal does not count, whatever the
subscription order), moved by slippage, and pays the fee.  Until then it is a working
order that a CANCEL signal can withdraw.  Lock discipline and accounting: see
:mod:`system.orders.base`.
"""

from __future__ import annotations

from system.orders.base import OrderManagerBase
from system.orders.records import Event, Order


class OrderManager(OrderManagerBase):
    def _execute(self, order: Order) -> list[Event]:
        self._working[order.order_id] = order
        return []

    async def _on_tick(self, symbol: str, price: float, timestamp: float) -> list[Event]:
        async with self._lock:
            due = [order for order in self._working.values()
                   if order.symbol == symbol and order.timestamp < timestamp]
            events: list[Event] = []
            for order in due:
                events += self._fill(order, price, timestamp)
            return events
