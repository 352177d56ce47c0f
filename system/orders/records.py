"""Orders and positions as the order managers hold them, and the events that report them.

Each record renders itself twice: as event payloads (fields exactly as
docs/architecture.md lists them) and as a row (the column names of migration 019's
``orders``/``positions`` tables, plus the order's ``signal_id``), so the persisted view and
the in-memory view cannot drift apart by a renamed field.  ``rejected`` and ``cancelled``
also set the status they report, so a row and its event cannot disagree.  Times are float
epoch seconds of event time, as in the events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from system import topics

Event = tuple[str, dict[str, Any]]


@dataclass(slots=True)
class Order:
    """One order.  ``closes`` is the position it closes (``None``: it opens or adds)."""

    order_id: str
    sequence: int
    session_id: str
    signal_id: str
    strategy_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    timestamp: float
    closes: Position | None = None
    order_type: str = "MARKET"
    status: str = "NEW"
    filled_quantity: float = 0.0
    filled_price: float | None = None  # None until filled, as in the orders table
    commission: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def created(self) -> Event:
        return topics.ORDER_CREATED, {
            "order_id": self.order_id, "session_id": self.session_id, "signal_id": self.signal_id,
            "strategy_id": self.strategy_id, "symbol": self.symbol, "side": self.side,
            "order_type": self.order_type, "quantity": self.quantity, "price": self.price,
            "status": "NEW", "metadata": dict(self.metadata), "timestamp": self.timestamp,
        }

    def filled(self, timestamp: float) -> Event:
        return topics.ORDER_FILLED, {
            "order_id": self.order_id, "session_id": self.session_id, "signal_id": self.signal_id,
            "strategy_id": self.strategy_id, "symbol": self.symbol, "side": self.side,
            "filled_quantity": self.filled_quantity, "filled_price": self.filled_price,
            "commission": self.commission, "status": self.status, "timestamp": timestamp,
        }

    def rejected(self, reason: str) -> Event:
        self.status = "REJECTED"
        self.metadata["reason"] = reason
        return topics.ORDER_REJECTED, {
            "order_id": self.order_id, "session_id": self.session_id, "signal_id": self.signal_id,
            "strategy_id": self.strategy_id, "symbol": self.symbol, "side": self.side,
            "order_type": self.order_type, "quantity": self.quantity, "price": self.price, "reason": reason,
            "timestamp": self.timestamp,
        }

    def cancelled(self, *, signal_id: str, reason: str, timestamp: float) -> Event:
        """``signal_id`` is the CANCEL signal's, so that signal's outcome is on the record."""
        self.status = "CANCELLED"
        self.metadata["cancel_reason"] = reason
        return topics.ORDER_CANCELLED, {
            "order_id": self.order_id, "session_id": self.session_id, "signal_id": signal_id,
            "strategy_id": self.strategy_id, "symbol": self.symbol, "reason": reason, "timestamp": timestamp,
        }

    def row(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id, "strategy_id": self.strategy_id, "symbol": self.symbol,
            "session_id": self.session_id, "signal_id": self.signal_id, "side": self.side,
            "order_type": self.order_type, "timestamp": self.timestamp, "quantity": self.quantity,
            "price": self.price, "filled_quantity": self.filled_quantity, "filled_price": self.filled_price,
            "status": self.status, "commission": self.commission, "metadata": dict(self.metadata),
        }


@dataclass(slots=True)
class Position:
    """One position of one strategy on one symbol.

    ``realized_pnl`` is the price PnL before fees (fees are the orders' commissions), so the
    account balances as ``initial + sum(realized_pnl) - sum(commission)``.  A CLOSED position
    keeps the quantity it held, as its database row does.
    """

    position_id: str
    session_id: str
    strategy_id: str
    symbol: str
    side: str
    quantity: float
    entry_price: float
    timestamp: float
    stop_loss: float | None = None
    take_profit: float | None = None
    current_price: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0
    status: str = "OPEN"
    last_reported: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def pnl_at(self, price: float) -> float:
        move = (price - self.entry_price) * self.quantity
        return move if self.side == "LONG" else -move

    def opened(self) -> Event:
        return topics.POSITION_OPENED, {
            "position_id": self.position_id, "session_id": self.session_id, "strategy_id": self.strategy_id,
            "symbol": self.symbol, "side": self.side, "quantity": self.quantity,
            "entry_price": self.entry_price, "current_price": self.current_price,
            "stop_loss": self.stop_loss, "take_profit": self.take_profit,
            "metadata": dict(self.metadata), "timestamp": self.timestamp,
        }

    def updated(self, timestamp: float) -> Event:
        self.last_reported = timestamp
        return topics.POSITION_UPDATED, {
            "position_id": self.position_id, "session_id": self.session_id, "symbol": self.symbol,
            "quantity": self.quantity, "entry_price": self.entry_price, "current_price": self.current_price,
            "unrealized_pnl": self.unrealized_pnl, "timestamp": timestamp,
        }

    def closed(self, timestamp: float) -> Event:
        return topics.POSITION_CLOSED, {
            "position_id": self.position_id, "session_id": self.session_id, "symbol": self.symbol,
            "current_price": self.current_price, "realized_pnl": self.realized_pnl, "timestamp": timestamp,
        }

    def row(self) -> dict[str, Any]:
        return {
            "position_id": self.position_id, "strategy_id": self.strategy_id, "symbol": self.symbol,
            "session_id": self.session_id, "timestamp": self.timestamp, "side": self.side,
            "quantity": self.quantity, "entry_price": self.entry_price, "current_price": self.current_price,
            "unrealized_pnl": self.unrealized_pnl, "realized_pnl": self.realized_pnl,
            "stop_loss": self.stop_loss, "take_profit": self.take_profit, "status": self.status,
            "metadata": dict(self.metadata),
        }
