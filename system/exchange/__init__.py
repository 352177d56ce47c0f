"""MEXC futures (contract API v1): the live-mode adapter, over httpx.

``client`` talks HTTP, ``signing`` signs, ``errors`` types every failure, ``models`` parses
replies into checked records.  The rest of ``system/`` sees only these records and errors.
"""

from system.exchange.client import MexcFuturesClient
from system.exchange.config import ApiCredentials
from system.exchange.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeRejected,
    ExchangeTimeout,
    ExchangeTransientError,
    ExchangeUnavailable,
    MalformedReply,
    RateLimited,
)
from system.exchange.models import ContractSpec, ExchangeDeal, ExchangeOrder, ExchangePosition, OrderState
from system.exchange.signing import parameter_string, sign

__all__ = [
    "ApiCredentials",
    "AuthenticationError",
    "ContractSpec",
    "ExchangeDeal",
    "ExchangeError",
    "ExchangeOrder",
    "ExchangePosition",
    "ExchangeRejected",
    "ExchangeTimeout",
    "ExchangeTransientError",
    "ExchangeUnavailable",
    "MalformedReply",
    "MexcFuturesClient",
    "OrderState",
    "RateLimited",
    "parameter_string",
    "sign",
]
