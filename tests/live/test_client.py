"""MexcFuturesClient: wire format, signing headers, reply parsing and the typed error mapping."""

from __future__ import annotations

import json

import httpx
import pytest

from system.exchange import (
    AuthenticationError,
    ExchangeRejected,
    ExchangeTimeout,
    ExchangeUnavailable,
    MalformedReply,
    OrderState,
    RateLimited,
    sign,
)
from tests.live.helpers import CREDENTIALS, NOW, client_over, reply

ORDER = {"symbol": "BTC_USDT", "price": 60000.0, "vol": 3, "leverage": 1, "side": 1, "type": 5, "openType": 1,
         "externalOid": "sw-1"}
ORDER_VIEW = {"orderId": "101", "symbol": "BTC_USDT", "externalOid": "sw-1", "side": 1, "orderType": 5, "state": 3,
              "vol": 3, "price": 60000.0, "dealVol": 3, "dealAvgPrice": 60010.5, "updateTime": 1736121600000}

pytestmark = pytest.mark.anyio


async def test_submit_posts_the_signed_body_and_returns_the_order_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply("101")

    assert await client_over(handler).submit_order(ORDER) == {"orderId": "101"}
    request = seen[0]
    body = request.content.decode()
    assert request.method == "POST" and request.url.path == "/api/v1/private/order/submit"
    assert json.loads(body) == ORDER
    time = str(int(NOW.timestamp() * 1000))
    assert request.headers["Request-Time"] == time
    assert request.headers["ApiKey"] == CREDENTIALS.access_key
    assert request.headers["Signature"] == sign(CREDENTIALS.secret_key, CREDENTIALS.access_key, time, body)
    assert CREDENTIALS.secret_key not in str(request.headers) + body


async def test_an_order_missing_a_required_field_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="externalOid"):
        await client_over(lambda r: reply("1")).submit_order({k: v for k, v in ORDER.items() if k != "externalOid"})


async def test_lookup_by_external_oid_parses_the_order_and_maps_not_found_to_none() -> None:
    client = client_over(lambda r: reply(ORDER_VIEW) if r.url.path.endswith("/sw-1") else
                         reply(code=2009, message="order does not exist"))
    order = await client.order_by_external_oid("BTC_USDT", "sw-1")
    assert order is not None and order.state is OrderState.COMPLETED and order.deal_avg_price == 60010.5
    assert await client.order_by_external_oid("BTC_USDT", "sw-2") is None


@pytest.mark.parametrize(("response", "error", "text"), [
    (httpx.Response(503, text="busy"), ExchangeUnavailable, "HTTP 503"),
    (reply(code=510, message="too frequent"), RateLimited, "510"),
    (reply(code=602, message="signature verification failed"), AuthenticationError, "602"),
    (reply(code=2005, message="insufficient balance"), ExchangeRejected, "2005"),
    (httpx.Response(200, text="<html>"), MalformedReply, "'body' is not JSON"),
    (httpx.Response(200, json={"success": True, "data": "1"}), MalformedReply, "'code' is missing"),
    (httpx.Response(200, json={"success": True, "code": 0}), MalformedReply, "'data' is missing"),
])
async def test_failures_map_to_typed_errors(response: httpx.Response, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text) as caught:
        await client_over(lambda r: response).submit_order(ORDER)
    assert "/api/v1/private/order/submit" in str(caught.value)


async def test_a_timeout_is_its_own_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ExchangeTimeout, match="no reply"):
        await client_over(handler).submit_order(ORDER)


async def test_a_malformed_position_names_the_field_and_the_item() -> None:
    position = {"positionId": 7, "symbol": "BTC_USDT", "positionType": 3, "holdVol": 2, "holdAvgPrice": 1.0,
                "state": 1}
    with pytest.raises(MalformedReply, match=r"open_positions\[0\].*'positionType' must be one of 1 long, 2 short"):
        await client_over(lambda r: reply([position])).open_positions()


async def test_contract_detail_is_public_and_checked() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply({"symbol": "BTC_USDT", "contractSize": 0.0001, "minVol": 1, "maxVol": 1000, "volUnit": 1,
                      "priceUnit": 0.1})

    spec = await client_over(handler).contract_detail("BTC_USDT")
    assert "Signature" not in seen[0].headers
    assert spec.vol_for(0.01675) == 167 and spec.vol_for(0.00005) == 0.0 and spec.vol_for(1.0) == 0.0
    with pytest.raises(MalformedReply, match="'contractSize' must be > 0"):
        await client_over(lambda r: reply({"symbol": "X", "contractSize": 0, "minVol": 1, "maxVol": 1,
                                           "volUnit": 1, "priceUnit": 1})).contract_detail("X")


async def test_assets_and_cancel() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            assert json.loads(request.content) == ["101"]
            return reply([{"orderId": "101", "errorCode": 0}])
        return reply([{"currency": "USDT", "availableBalance": 5.0, "equity": 6.0}])

    client = client_over(handler)
    assert await client.cancel_order("101") == {"orderId": "101"}
    assert (await client.account_assets())[0]["equity"] == 6.0
    with pytest.raises(MalformedReply, match="'equity' is missing"):
        await client_over(lambda r: reply([{"currency": "USDT", "availableBalance": 1.0}])).account_assets()
