"""Shared pieces of the live-mode tests: a fixed clock and a client over a mock transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from system.exchange import ApiCredentials, MexcFuturesClient

CREDENTIALS = ApiCredentials(access_key="mx0vglTestKey", secret_key="test-secret-9d1f")
NOW = datetime(2025, 1, 6, tzinfo=UTC)


class FixedClock:
    """The Clock port stopped at ``NOW``: signatures and the exchange's time checks agree."""

    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("nothing here may wait")


def client_over(handler: Callable[[httpx.Request], httpx.Response]) -> MexcFuturesClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://contract.mexc.com")
    return MexcFuturesClient(http, CREDENTIALS, FixedClock())


def reply(data: object = None, *, code: int = 0, status: int = 200, message: str = "") -> httpx.Response:
    body = {"success": code == 0, "code": code, "data": data} if code == 0 else \
        {"success": False, "code": code, "message": message}
    return httpx.Response(status, json=body)
