"""MexcFuturesClient: the MEXC futures contract API v1 over an ``httpx.AsyncClient``.

The client is the adapter of the ``ExchangeClient`` port: it owns the wire format (paths,
signing, the ``{"success", "code", "data"}`` envelope) and turns every failure into one of
:mod:`system.exchange.errors`.  It never retries: whether a request is safe to send again
depends on what it does (a query is, an order submission is not until its ``externalOid`` has
been looked up), so the caller decides.  The ``httpx.AsyncClient`` is injected, which is how
the simulator mounts its exchange (an in-process transport) behind this exact code.

Request time comes from the Clock port, so signatures are reproducible under simulation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from system.exchange import models
from system.exchange.config import DEFAULT_RECV_WINDOW_MS, ApiCredentials
from system.exchange.errors import (
    AUTH_CODES,
    RATE_LIMIT_CODE,
    AuthenticationError,
    ExchangeRejected,
    ExchangeTimeout,
    ExchangeUnavailable,
    MalformedReply,
    RateLimited,
)
from system.exchange.signing import parameter_string, signed_headers
from system.ports import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTRACT_DETAIL = "/api/v1/contract/detail"
SUBMIT_ORDER = "/api/v1/private/order/submit"
CANCEL_ORDER = "/api/v1/private/order/cancel"
ORDER_BY_EXTERNAL_OID = "/api/v1/private/order/external/{symbol}/{external_oid}"
OPEN_POSITIONS = "/api/v1/private/position/open_positions"
ACCOUNT_ASSETS = "/api/v1/private/account/assets"
ORDER_NOT_FOUND_CODE = 2009
"""The code of "order does not exist" on a lookup: an answer (``None``), not a failure."""

SUBMIT_FIELDS = ("symbol", "price", "vol", "leverage", "side", "type", "openType", "externalOid")


class MexcFuturesClient:
    def __init__(self, http: httpx.AsyncClient, credentials: ApiCredentials, clock: Clock, *,
                 recv_window_ms: int = DEFAULT_RECV_WINDOW_MS) -> None:
        self._http = http
        self._credentials = credentials
        self._clock = clock
        self._recv_window_ms = recv_window_ms

    # -- public ----------------------------------------------------------------------------

    async def contract_detail(self, symbol: str) -> models.ContractSpec:
        data = await self._request("GET", CONTRACT_DETAIL, params={"symbol": symbol}, signed=False)
        return models.contract_spec(data, CONTRACT_DETAIL)

    # -- private (signed) ------------------------------------------------------------------

    async def submit_order(self, order: Mapping[str, Any]) -> Mapping[str, Any]:
        """Place an order (fields as the API names them); returns ``{"orderId": ...}``."""
        missing = [name for name in SUBMIT_FIELDS if name not in order]
        if missing:
            raise ValueError(f"{SUBMIT_ORDER}: order lacks {missing}")
        data = await self._request("POST", SUBMIT_ORDER, body=dict(order))
        if isinstance(data, int | str) and not isinstance(data, bool):
            return {"orderId": str(data)}
        return {"orderId": _Envelope(SUBMIT_ORDER).field(data, "orderId")}

    async def cancel_order(self, order_id: str) -> Mapping[str, Any]:
        data = await self._request("POST", CANCEL_ORDER, body=[order_id])
        if not isinstance(data, list) or not data:
            raise MalformedReply(CANCEL_ORDER, "data", f"must be a non-empty list, got {data!r}")
        result = data[0]
        code = _Envelope(CANCEL_ORDER).field(result, "errorCode")
        if code:
            raise ExchangeRejected(CANCEL_ORDER, int(code), str(result.get("errorMsg", "cancel refused")))
        return {"orderId": order_id}

    async def order_by_external_oid(self, symbol: str, external_oid: str) -> models.ExchangeOrder | None:
        """The order placed with ``external_oid``, or ``None`` if the exchange has none."""
        path = ORDER_BY_EXTERNAL_OID.format(symbol=symbol, external_oid=external_oid)
        try:
            data = await self._request("GET", path)
        except ExchangeRejected as error:
            if error.code == ORDER_NOT_FOUND_CODE:
                return None
            raise
        return models.exchange_order(data, path)

    async def open_positions(self, symbol: str | None = None) -> list[models.ExchangePosition]:
        data = await self._request("GET", OPEN_POSITIONS, params={"symbol": symbol} if symbol else None)
        return _each(data, OPEN_POSITIONS, models.exchange_position)

    async def account_assets(self) -> list[Mapping[str, Any]]:
        data = await self._request("GET", ACCOUNT_ASSETS)
        assets = _each(data, ACCOUNT_ASSETS, lambda item, where: item)
        for asset in assets:
            for name in ("currency", "availableBalance", "equity"):
                _Envelope(ACCOUNT_ASSETS).field(asset, name)
        return assets

    # -- the wire --------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                       body: Any = None, signed: bool = True) -> Any:
        content = json.dumps(body, separators=(",", ":"), sort_keys=True) if body is not None else ""
        headers = {"Content-Type": "application/json"}
        if signed:
            credentials = self._credentials
            headers = signed_headers(
                access_key=credentials.access_key, secret_key=credentials.secret_key,
                request_time=str(int(self._clock.now().timestamp() * 1000)),
                parameters=parameter_string(method, params, content), recv_window_ms=self._recv_window_ms)
        try:
            response = await self._http.request(method, path, params=dict(params or {}), content=content or None,
                                                headers=headers)
        except httpx.TimeoutException as error:
            raise ExchangeTimeout(path, f"no reply ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise ExchangeUnavailable(path, f"transport error ({type(error).__name__})") from None
        return _Envelope(path).data(response)


class _Envelope:
    """Reads ``{"success": bool, "code": int, "data": ..., "message": str}``."""

    def __init__(self, path: str) -> None:
        self._path = path

    def data(self, response: httpx.Response) -> Any:
        path = self._path
        if response.status_code >= 500:
            raise ExchangeUnavailable(path, f"HTTP {response.status_code}", status=response.status_code)
        try:
            reply = response.json()
        except ValueError:
            raise MalformedReply(path, "body", f"is not JSON (HTTP {response.status_code})") from None
        if not isinstance(reply, Mapping):
            raise MalformedReply(path, "body", f"must be an object, got {type(reply).__name__}")
        code = self.field(reply, "code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise MalformedReply(path, "code", f"must be an integer, got {code!r}")
        success = reply.get("success", code == 0)
        if code == RATE_LIMIT_CODE:
            raise RateLimited(path, "too many requests (code 510)")
        if not success or code != 0:
            message = str(reply.get("message", ""))
            kind = AuthenticationError if code in AUTH_CODES else ExchangeRejected
            raise kind(path, code, message)
        if response.status_code >= 400:
            raise MalformedReply(path, "success", f"is true on HTTP {response.status_code}")
        return self.field(reply, "data")

    def field(self, data: Any, name: str) -> Any:
        if not isinstance(data, Mapping):
            raise MalformedReply(self._path, name, f"expected inside an object, got {type(data).__name__}")
        if name not in data:
            raise MalformedReply(self._path, name, "is missing")
        return data[name]


def _each(data: Any, path: str, parse: Callable[[Any, str], T]) -> list[T]:
    if not isinstance(data, list):
        raise MalformedReply(path, "data", f"must be a list, got {type(data).__name__}")
    return [parse(item, f"{path}[{index}]") for index, item in enumerate(data)]
