"""Rows of the ``orders`` and ``positions`` tables back into records, for a book rebuilt after a restart.

The tables are the only memory a restarted process has.  What a row cannot say, it takes
from the record's own rules: an order's ``closes`` is the position it was opposite to (a
strategy never holds both sides of a symbol, so an order against the open position closes
it), and a fill's time is the order's (the ``orders`` table keeps no fill time).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from system.orders.records import Order, Position
from system.persistence.timestamps import from_db_timestamp

Row = Mapping[str, Any]


def order_from_row(row: Row) -> Order:
    metadata = _metadata(row, "orders", "order_id")
    return Order(
        order_id=row["order_id"], sequence=int(metadata.get("sequence", 0)), session_id=row["session_id"],
        signal_id=row["signal_id"], strategy_id=row["strategy_id"], symbol=row["symbol"], side=row["side"],
        quantity=float(row["quantity"]), price=float(row["price"]), timestamp=_epoch(row["timestamp"]),
        order_type=row["order_type"], status=row["status"], filled_quantity=float(row["filled_quantity"] or 0.0),
        filled_price=None if row["filled_price"] is None else float(row["filled_price"]),
        commission=float(row["commission"] or 0.0), metadata=metadata,
    )


def opening_orders(position_rows: list[Row]) -> dict[str, Row]:
    """Each position row by the order that opened it (``metadata.order_id``)."""
    return {str(meta["order_id"]): row for row in position_rows
            if (meta := _metadata(row, "positions", "position_id")).get("order_id")}


def position_timestamp(row: Row) -> float:
    return _epoch(row["timestamp"])


def same_position(position: Position, row: Row, tolerance: float = 1e-9) -> bool:
    """The row already says what the rebuilt position says (status, size, entry, realized PnL)."""
    def close(name: str) -> bool:
        want = getattr(position, name)
        return abs(float(row[name] or 0.0) - want) <= tolerance * max(1.0, abs(want))

    return row["status"] == position.status and all(map(close, ("quantity", "entry_price", "realized_pnl")))


def _metadata(row: Row, table: str, key: str) -> dict[str, Any]:
    text = row["metadata"]
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{table} row {row[key]!r}: metadata is not JSON ({error}): {text!r:.80}") from error
    if not isinstance(value, dict):
        raise ValueError(f"{table} row {row[key]!r}: metadata is not a JSON object: {text!r:.80}")
    return value


def _epoch(value: Any) -> float:
    return from_db_timestamp(value) if isinstance(value, datetime) else float(value)
