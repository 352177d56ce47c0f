"""Records parsed from MEXC futures replies and pushes, each field checked on the way in.

The API's codes, in one place:

- order ``side``: 1 open long, 2 close short, 3 open short, 4 close long;
- order ``type``: 1 limit, 2 post-only, 3 IOC, 4 FOK, 5 market;
- order ``state``: 1 uninformed, 2 uncompleted, 3 completed, 4 cancelled, 5 invalid;
- ``positionType``: 1 long, 2 short; ``openType``: 1 isolated, 2 cross;
- ``positionMode``: 1 hedge, 2 one-way.

Volumes are in contracts; one contract is ``contractSize`` units of the base currency, and an
order's ``vol`` must be a multiple of ``volUnit`` within ``[minVol, maxVol]``.  A reply missing
a field, or holding the wrong type, raises :class:`MalformedReply` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from system.exchange.errors import MalformedReply


class Side(IntEnum):
    OPEN_LONG = 1
    CLOSE_SHORT = 2
    OPEN_SHORT = 3
    CLOSE_LONG = 4


class OrderType(IntEnum):
    LIMIT = 1
    POST_ONLY = 2
    IOC = 3
    FOK = 4
    MARKET = 5


class OrderState(IntEnum):
    UNINFORMED = 1
    UNCOMPLETED = 2
    COMPLETED = 3
    CANCELLED = 4
    INVALID = 5

    @property
    def final(self) -> bool:
        return self >= OrderState.COMPLETED


class PositionType(IntEnum):
    LONG = 1
    SHORT = 2


@dataclass(frozen=True, slots=True)
class ContractSpec:
    symbol: str
    contract_size: float
    min_vol: float
    max_vol: float
    vol_unit: float
    price_unit: float

    def vol_for(self, quantity: float) -> float:
        """Contracts for ``quantity`` base units: rounded down to ``vol_unit``; 0 if outside
        ``[min_vol, max_vol]`` (an order that size cannot be placed)."""
        units = math.floor(quantity / self.contract_size / self.vol_unit + 1e-9)
        vol = units * self.vol_unit
        return vol if self.min_vol <= vol <= self.max_vol else 0.0

    def quantity_of(self, vol: float) -> float:
        return vol * self.contract_size


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    order_id: str
    symbol: str
    external_oid: str
    side: Side
    order_type: OrderType
    state: OrderState
    vol: float
    price: float
    deal_vol: float
    deal_avg_price: float
    update_time: int
    """Epoch milliseconds of the last change."""


@dataclass(frozen=True, slots=True)
class ExchangeDeal:
    deal_id: str
    order_id: str
    external_oid: str
    symbol: str
    side: Side
    vol: float
    price: float
    fee: float
    timestamp: int


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    position_id: str
    symbol: str
    position_type: PositionType
    hold_vol: float
    hold_avg_price: float
    state: int


def contract_spec(data: Any, where: str) -> ContractSpec:
    reader = _Reader(data, where)
    return ContractSpec(symbol=reader.text("symbol"), contract_size=reader.positive("contractSize"),
                        min_vol=reader.positive("minVol"), max_vol=reader.positive("maxVol"),
                        vol_unit=reader.positive("volUnit"), price_unit=reader.positive("priceUnit"))


def exchange_order(data: Any, where: str) -> ExchangeOrder:
    reader = _Reader(data, where)
    return ExchangeOrder(
        order_id=reader.text("orderId"), symbol=reader.text("symbol"), external_oid=reader.text("externalOid"),
        side=reader.code("side", Side), order_type=reader.code("orderType", OrderType),
        state=reader.code("state", OrderState), vol=reader.number("vol"), price=reader.number("price"),
        deal_vol=reader.number("dealVol"), deal_avg_price=reader.number("dealAvgPrice"),
        update_time=reader.integer("updateTime"),
    )


def exchange_deal(data: Any, where: str) -> ExchangeDeal:
    reader = _Reader(data, where)
    return ExchangeDeal(
        deal_id=reader.text("id"), order_id=reader.text("orderId"), external_oid=reader.text("externalOid"),
        symbol=reader.text("symbol"), side=reader.code("side", Side), vol=reader.positive("vol"),
        price=reader.positive("price"), fee=reader.number("fee"), timestamp=reader.integer("timestamp"),
    )


def exchange_position(data: Any, where: str) -> ExchangePosition:
    reader = _Reader(data, where)
    return ExchangePosition(
        position_id=reader.text("positionId"), symbol=reader.text("symbol"),
        position_type=reader.code("positionType", PositionType), hold_vol=reader.number("holdVol"),
        hold_avg_price=reader.number("holdAvgPrice"), state=reader.integer("state"),
    )


_Code = TypeVar("_Code", bound=IntEnum)


class _Reader:
    """Typed access to one reply object; every failure names the endpoint and the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise MalformedReply(where, "data", f"must be an object, got {type(data).__name__}")
        self._data = data
        self._where = where

    def _get(self, name: str) -> Any:
        if name not in self._data:
            raise MalformedReply(self._where, name, "is missing")
        return self._data[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # MEXC sends some ids as numbers
        if not isinstance(value, str) or not value:
            raise MalformedReply(self._where, name, f"must be a non-empty string, got {value!r}")
        return value

    def number(self, name: str) -> float:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise MalformedReply(self._where, name, f"must be a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise MalformedReply(self._where, name, f"must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise MalformedReply(self._where, name, f"must be finite, got {value!r}")
        return number

    def positive(self, name: str) -> float:
        number = self.number(name)
        if number <= 0:
            raise MalformedReply(self._where, name, f"must be > 0, got {number!r}")
        return number

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedReply(self._where, name, f"must be an integer, got {value!r}")
        return value

    def code(self, name: str, kind: type[_Code]) -> _Code:
        value = self.integer(name)
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(f"{member.value} {member.name.lower()}" for member in kind)
            raise MalformedReply(self._where, name, f"must be one of {allowed}; got {value!r}") from None
