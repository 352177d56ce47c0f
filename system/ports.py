"""Ports: the only doors from the trading system to the outside world.

Production adapters (``system.adapters``) and the simulator (``sim``) implement these
protocols; the rest of ``system/`` depends on nothing else for time, ids, randomness,
storage, market data or the exchange.  One seam per source of nondeterminism, all swapped
together, so production code cannot tell it is being simulated.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class Clock(Protocol):
    """Wall time for the system.  ``now()`` is timezone-aware UTC."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for measuring intervals."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class Ids(Protocol):
    """Unique identifiers.  ``new_id("sig")`` -> ``"sig_..."``."""

    def new_id(self, prefix: str) -> str: ...


class Random(Protocol):
    """The only randomness the system may use (slippage noise, jitter)."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...


# --- Database ---------------------------------------------------------------------------------
#
# asyncpg-shaped, because production talks to QuestDB's PG wire through asyncpg.  Adapters
# translate driver exceptions into the taxonomy below so the system can tell a transient
# failure (retry) from a bad statement or bad parameters (a bug: fail loudly).


class DatabaseError(Exception):
    """Base of every error raised through the Database port."""


class TransientDatabaseError(DatabaseError):
    """The statement may succeed if retried (connection reset, server busy, timeout)."""


class QueryError(DatabaseError):
    """The server rejected the statement (unknown table/column, syntax, unsupported SQL).

    Real QuestDB reports these with sqlstate ``00000``; match on the message.
    """

    def __init__(self, message: str, *, query: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.position = position


class DataError(DatabaseError):
    """A parameter could not be encoded for its column type (asyncpg's client-side DataError)."""


@runtime_checkable
class Record(Protocol):
    """A result row: ``row["col"]`` and ``row[0]`` both work, like asyncpg.Record."""

    def __getitem__(self, key: int | str) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Transaction(Protocol):
    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> bool | None: ...


class Connection(Protocol):
    async def execute(self, query: str, *args: Any) -> str: ...

    async def executemany(self, query: str, args: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, query: str, *args: Any) -> list[Record]: ...

    async def fetchrow(self, query: str, *args: Any) -> Record | None: ...

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any: ...

    def transaction(self) -> Transaction: ...


class Database(Protocol):
    """A connection pool: ``async with db.acquire() as conn: await conn.execute(...)``."""

    def acquire(self) -> AbstractAsyncContextManager[Connection]: ...


# --- Market data ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade/price observation of one symbol.  ``timestamp`` is timezone-aware UTC."""

    symbol: str
    timestamp: datetime
    price: float
    volume: float
    quote_volume: float


class MarketFeed(Protocol):
    """A live-like source of ticks (paper mode; live mode's public push stream).

    ``stream`` yields ticks as they happen, pacing itself by real (or virtual) time.
    """

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]: ...


# --- Exchange (live mode) ---------------------------------------------------------------------


class ExchangeClient(Protocol):
    """The MEXC futures client seam used by LiveOrderManager and PositionSyncService.

    Implemented by ``system.exchange`` over httpx (live mode issue); the simulator mounts
    a simulated exchange behind the same client through an httpx transport.
    """

    async def submit_order(self, order: Mapping[str, Any]) -> Mapping[str, Any]: ...

    async def cancel_order(self, order_id: str) -> Mapping[str, Any]: ...

    async def open_positions(self, symbol: str | None = None) -> list[Mapping[str, Any]]: ...


class FuturesExchange(ExchangeClient, Protocol):
    """What live mode needs beyond ``ExchangeClient``: contract specs and order lookup by the
    client order id (``externalOid``), the key that makes a retried submission idempotent.

    Implemented by ``system.exchange.MexcFuturesClient``; records and errors are those of
    ``system.exchange`` (``ContractSpec``, ``ExchangeOrder``; ``ExchangeTransientError``...).
    """

    async def contract_detail(self, symbol: str) -> Any: ...

    async def order_by_external_oid(self, symbol: str, external_oid: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One message of the exchange's private push stream: ``channel`` as the exchange names it
    (``push.personal.order``, ``push.personal.order.deal``, ``push.personal.position``) and its
    ``data`` object, unparsed."""

    channel: str
    data: Mapping[str, Any]


class PrivateStream(Protocol):
    """The exchange's private push stream (order, deal and position updates of the account).

    ``messages()`` yields until the stream ends; a dropped connection raises
    ``ConnectionError``, and updates pushed while disconnected are lost, so the consumer must
    resynchronise (query the exchange) after reopening it.  It is a generator so the consumer
    can close the connection when it stops listening (``contextlib.aclosing``) instead of
    leaving that to the garbage collector, at some later and unpredictable moment.
    """

    def messages(self) -> AsyncGenerator[PushMessage, None]: ...
