"""The HTTP face of the simulated exchange: MEXC contract API v1 paths, signature check,
rate limit and the reply envelope.  Shared by the in-process transport and the loopback server.

Private endpoints (``/api/v1/private/...``) check, in this order: the ``ApiKey`` is known
(401), ``Request-Time`` lies within ``Recv-Window`` of the exchange's clock (513), the
``Signature`` matches (602), and the key has made fewer than ``RATE_LIMIT`` requests in the
last ``RATE_WINDOW`` seconds (510).  Replies are HTTP 200 with
``{"success", "code", "data"}`` or ``{"success": false, "code", "message"}``, as MEXC sends them.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx

from contracts.refusals import Refusal
from sim.world.exchange.signature import expected_signature, signed_parameters
from sim.world.exchange.venue import ORDER_NOT_FOUND, PARAM_ERROR, ApiError, SimulatedMexcExchange

RATE_LIMIT = 20
RATE_WINDOW = 2.0
UNKNOWN_KEY, BAD_REQUEST_TIME, BAD_SIGNATURE, RATE_LIMITED, NOT_FOUND = 401, 513, 602, 510, 404

_AUTH_CODES = (UNKNOWN_KEY, BAD_REQUEST_TIME, BAD_SIGNATURE, RATE_LIMITED)
PRIVATE = "/api/v1/private/"
EXTERNAL_PREFIX = "/api/v1/private/order/external/"


class ExchangeApi:
    def __init__(self, exchange: SimulatedMexcExchange, secrets: Mapping[str, str], now: Callable[[], float]) -> None:
        """``secrets``: API key -> secret key; ``now``: the exchange's clock, epoch seconds."""
        self.exchange = exchange
        self._secrets = dict(secrets)
        self._now = now
        self._recent: dict[str, deque[float]] = {}
        self.requests = 0
        self.refusals: list[Refusal] = []
        """Every refusal this API answered (fault-injected ones never reach it: the transport
        answers those itself), for the ``oracle.uninjected-refusal`` check."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        query = dict(parse_qsl(request.url.query.decode()))
        try:
            data = self._route(request.method, request.url.path, query, body, request.headers)
            reply: dict[str, Any] = {"success": True, "code": 0, "data": data}
        except ApiError as error:
            reply = {"success": False, "code": error.code, "message": error.message}
            if request.method == "POST" or error.code in _AUTH_CODES:  # a refusal, not a lookup's answer
                self.refusals.append(Refusal("exchange", f"{request.method} {request.url.path}", str(error.code),
                                             error.message, at=f"t={self._now():.3f}"))
        return httpx.Response(200, json=reply)

    def rate_limited(self) -> httpx.Response:
        """The reply of a request refused by the rate limiter (also the rate-limit fault)."""
        return httpx.Response(200, json={"success": False, "code": RATE_LIMITED, "message": "too many requests"})

    def _route(self, method: str, path: str, query: dict[str, str], body: str, headers: Mapping[str, str]) -> Any:
        exchange, now = self.exchange, self._now()
        self.requests += 1
        if method == "GET" and path == "/api/v1/contract/detail":
            return exchange.contract_detail(query.get("symbol", ""))
        if not path.startswith(PRIVATE):
            raise ApiError(NOT_FOUND, f"no endpoint {method} {path}")
        key = self._authenticate(method, query, body, headers, now)
        if method == "POST" and path == "/api/v1/private/order/submit":
            return exchange.submit(key, _json(body, dict), now)
        if method == "POST" and path == "/api/v1/private/order/cancel":
            results = exchange.cancel(key, _json(body, list), now)
            # an id the exchange never issued (not "already final", a race the client must absorb)
            self.refusals.extend(Refusal("exchange", f"{method} {path}", str(r["errorCode"]), r["errorMsg"],
                                         at=f"t={now:.3f}") for r in results if r["errorCode"] == ORDER_NOT_FOUND)
            return results
        if method == "GET" and path.startswith(EXTERNAL_PREFIX):
            symbol, _, external_oid = path[len(EXTERNAL_PREFIX):].partition("/")
            return exchange.order_by_external_oid(key, symbol, external_oid)
        if method == "GET" and path == "/api/v1/private/position/open_positions":
            return exchange.open_positions(key, query.get("symbol"))
        if method == "GET" and path == "/api/v1/private/account/assets":
            return exchange.assets(key)
        raise ApiError(NOT_FOUND, f"no endpoint {method} {path}")

    def _authenticate(self, method: str, query: dict[str, str], body: str, headers: Mapping[str, str],
                      now: float) -> str:
        key = headers.get("ApiKey", "")
        secret = self._secrets.get(key)
        if secret is None:
            raise ApiError(UNKNOWN_KEY, "unknown ApiKey")
        request_time, window = headers.get("Request-Time", ""), headers.get("Recv-Window", "10000")
        if not (request_time.isdigit() and window.isdigit()) or abs(now * 1000 - int(request_time)) > int(window):
            raise ApiError(BAD_REQUEST_TIME, "Request-Time outside Recv-Window")
        expected = expected_signature(secret, key, request_time, signed_parameters(method, query, body))
        if headers.get("Signature") != expected:
            raise ApiError(BAD_SIGNATURE, "signature verification failed")
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - RATE_WINDOW:
            recent.popleft()
        if len(recent) >= RATE_LIMIT:
            raise ApiError(RATE_LIMITED, "too many requests")
        recent.append(now)
        return key


def _json(body: str, kind: type) -> Any:
    try:
        value = json.loads(body)
    except ValueError:
        raise ApiError(PARAM_ERROR, "body is not JSON") from None
    if not isinstance(value, kind):
        raise ApiError(PARAM_ERROR, f"body must be a JSON {kind.__name__}")
    return value
