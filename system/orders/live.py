"""LiveOrderManager: the seam for MEXC futures trading, not built yet.

The live-mode issue fills it in (ExchangeClient port: open/close sides 1-4, contract sizes,
signed requests).  Until then constructing it fails with a typed error, so a live session is
refused at start-up (the container turns this into ``ServiceUnavailable``) instead of
running with no order execution, the failure mode of the seed report's defect 1.
"""

from __future__ import annotations

from system.bus import EventBus
from system.ports import Clock, Ids, Random


class LiveTradingUnavailable(NotImplementedError):
    """Live order execution is not implemented in this build."""


class LiveOrderManager:
    def __init__(self, bus: EventBus, ids: Ids, clock: Clock, random: Random, *, session_id: str,
                 initial_balance: float, fee_rate: float, slippage_pct: float) -> None:
        raise LiveTradingUnavailable(
            f"LiveOrderManager for session {session_id!r}: live trading (MEXC futures) is not "
            "implemented yet; use mode backtest or paper"
        )
