"""SimExchangeTransport: the simulated exchange mounted behind a real ``httpx.AsyncClient``.

Each request is an await point that takes seeded latency (``exchange`` site of the fault
plan, in virtual time), then may meet a fault, drawn in this fixed order so runs replay:

1. ``error_rate``: HTTP 503, the request not processed;
2. ``rate_limit_rate``: code 510, not processed (as if the limiter had refused it);
3. ``reject_rate`` (order submissions only): code ``FAULT_REJECT``, not processed;
4. the request is processed; ``ack_loss_rate``: the reply is lost and the client sees a
   read timeout *after* the exchange acted on it, the case that tempts a client to submit twice.
"""

from __future__ import annotations

import httpx

from sim.world.exchange.api import ExchangeApi
from sim.world.faults import FaultInjector

FAULT_REJECT = 2011
"""The code of a fault-injected refusal ("order rejected by risk control" in the simulator)."""
SUBMIT_PATH = "/api/v1/private/order/submit"


class SimExchangeTransport(httpx.AsyncBaseTransport):
    def __init__(self, api: ExchangeApi, faults: FaultInjector) -> None:
        self._api = api
        self._faults = faults
        self.injected: dict[str, int] = {"5xx": 0, "510": 0, "reject": 0, "timeout": 0}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        await self._faults.delay()
        faults = self._faults
        if faults.fails():
            return self._count("5xx", httpx.Response(503, text="service unavailable"))
        if faults.rate_limited():
            return self._count("510", self._api.rate_limited())
        if request.url.path == SUBMIT_PATH and faults.rejects():
            return self._count("reject", httpx.Response(200, json={
                "success": False, "code": FAULT_REJECT, "message": "order rejected by risk control"}))
        response = self._api.handle(request)
        if faults.loses_ack():
            self.injected["timeout"] += 1
            raise httpx.ReadTimeout("simulated: reply lost after the exchange processed the request",
                                    request=request)
        return response

    def _count(self, kind: str, response: httpx.Response) -> httpx.Response:
        self.injected[kind] += 1
        return response
