"""The ``position.sync_corrected`` event: what a resynchronisation found the exchange knew and
the local book did not.

Published by :class:`~system.sync.PositionSyncService`, applied by the ``LiveOrderManager``
(role ``position_sync``), persisted by nobody (the order events it causes are).  ``state`` is
the exchange's verdict on the order: ``COMPLETED`` (filled ``filled_quantity`` at
``filled_price``), ``CANCELLED``, ``INVALID``, or ``NOT_FOUND`` (the exchange never accepted it).
"""

from __future__ import annotations

from typing import Any


def correction(*, session_id: str, order_id: str, external_oid: str, symbol: str, state: str,
               filled_quantity: float, filled_price: float, reason: str, timestamp: float) -> dict[str, Any]:
    return {
        "session_id": session_id, "order_id": order_id, "external_oid": external_oid, "symbol": symbol,
        "state": state, "filled_quantity": filled_quantity, "filled_price": filled_price, "reason": reason,
        "timestamp": timestamp,
    }
