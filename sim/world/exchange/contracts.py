"""Contract specifications of the simulated MEXC futures exchange.

Close to MEXC's own for the default symbols (a BTC_USDT contract is 0.0001 BTC); any other
symbol gets ``GENERIC``.  Volumes are in contracts, multiples of ``volUnit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

GENERIC: Mapping[str, Any] = MappingProxyType(
    {"contractSize": 1.0, "minVol": 1, "maxVol": 1_000_000, "volUnit": 1, "priceUnit": 0.0001,
     "maxLeverage": 125})

CONTRACTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "BTC_USDT": MappingProxyType({**GENERIC, "contractSize": 0.0001, "maxVol": 1_250_000, "priceUnit": 0.1}),
    "ETH_USDT": MappingProxyType({**GENERIC, "contractSize": 0.01, "maxVol": 450_000, "priceUnit": 0.01}),
    "SOL_USDT": MappingProxyType({**GENERIC, "contractSize": 0.1, "maxVol": 500_000, "priceUnit": 0.001}),
})


def contract(symbol: str) -> dict[str, Any]:
    """The API's ``contract/detail`` object for ``symbol``."""
    return {"symbol": symbol, **CONTRACTS.get(symbol, GENERIC)}
