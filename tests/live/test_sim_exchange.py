"""The simulated MEXC futures exchange: matching, fees, position modes, margin, errors, rate limit."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from sim.world.exchange.api import RATE_LIMIT, ExchangeApi
from sim.world.exchange.transport import SimExchangeTransport
from sim.world.exchange.venue import (
    HEDGE,
    INSUFFICIENT_BALANCE,
    INSUFFICIENT_POSITION,
    LEVERAGE_OUT_OF_RANGE,
    ONE_WAY,
    Account,
    ApiError,
    SimulatedMexcExchange,
)
from sim.world.faults import FaultPlan
from system.exchange import AuthenticationError, ExchangeRejected, MexcFuturesClient, RateLimited
from system.exchange.config import ApiCredentials
from system.ports import Tick
from tests.live.helpers import CREDENTIALS, NOW, FixedClock

KEY = CREDENTIALS.access_key
T0 = NOW.timestamp()


def tick(second: int, price: float, volume: float = 100.0, symbol: str = "SOL_USDT") -> Tick:
    return Tick(symbol, NOW + timedelta(seconds=second), price, volume, price * volume)


def venue(balance: float = 10_000.0, mode: int = HEDGE) -> tuple[SimulatedMexcExchange, list[tuple[str, dict]]]:
    pushed: list[tuple[str, dict]] = []
    exchange = SimulatedMexcExchange({KEY: Account(balance, position_mode=mode)}, taker_fee=0.001, maker_fee=0.0005)
    exchange.add_listener(lambda key, channel, data: pushed.append((channel, data)))
    return exchange, pushed


def order(side: int, vol: float, kind: int = 5, price: float = 100.0, oid: str = "x") -> dict:
    return {"symbol": "SOL_USDT", "side": side, "type": kind, "vol": vol, "price": price, "leverage": 1,
            "externalOid": oid, "openType": 1}


def test_a_market_order_fills_on_later_ticks_in_partial_deals_at_each_price() -> None:
    exchange, pushed = venue()
    exchange.on_tick(tick(0, 100.0))
    order_id = exchange.submit(KEY, order(1, 40), T0)
    exchange.on_tick(tick(1, 101.0))  # 3 % of 100 SOL = 3 SOL = 30 contracts
    exchange.on_tick(tick(2, 102.0))
    deals = [data for channel, data in pushed if channel == "push.personal.order.deal"]
    assert [(d["vol"], d["price"]) for d in deals] == [(30, 101.0), (10, 102.0)]
    view = exchange.orders[order_id].view()
    assert view["state"] == 3 and view["dealAvgPrice"] == pytest.approx((30 * 101 + 10 * 102) / 40)
    position = exchange.open_positions(KEY, None)[0]
    assert position["holdVol"] == 40 and position["holdAvgPrice"] == pytest.approx(view["dealAvgPrice"])
    assert exchange.accounts[KEY].fees == pytest.approx((30 * 101 + 10 * 102) * 0.1 * 0.001)


def test_closing_realises_profit_and_releases_margin() -> None:
    exchange, _ = venue()
    exchange.on_tick(tick(0, 100.0))
    exchange.submit(KEY, order(3, 10), T0)  # open short 1 SOL
    exchange.on_tick(tick(1, 100.0))
    exchange.submit(KEY, order(2, 10, oid="y"), T0 + 1)  # close short
    exchange.on_tick(tick(2, 90.0))
    account = exchange.accounts[KEY]
    assert exchange.open_positions(KEY, None) == []
    assert account.used_margin() == 0
    assert account.balance == pytest.approx(10_000 + 10.0 - account.fees)


def test_limit_post_only_ioc_and_fok() -> None:
    exchange, _ = venue()
    exchange.on_tick(tick(0, 100.0))
    post_only = exchange.submit(KEY, order(1, 5, kind=2, price=101.0), T0)  # would cross: cancelled
    limit = exchange.submit(KEY, order(1, 5, kind=1, price=99.0), T0)
    ioc = exchange.submit(KEY, order(1, 50, kind=3, price=100.0), T0)  # 30 available now
    fok = exchange.submit(KEY, order(1, 50, kind=4, price=100.0), T0)
    exchange.on_tick(tick(1, 99.5))
    assert exchange.orders[limit].state == 2
    exchange.on_tick(tick(2, 98.0))
    states = {name: (exchange.orders[i].state, exchange.orders[i].deal_vol)
              for name, i in (("post_only", post_only), ("limit", limit), ("ioc", ioc), ("fok", fok))}
    assert states == {"post_only": (4, 0), "limit": (3, 5), "ioc": (4, 30), "fok": (4, 0)}
    assert exchange.orders[limit].view()["dealAvgPrice"] == 99.0  # a maker fills at its price


def test_margin_leverage_and_close_checks_answer_with_error_codes() -> None:
    exchange, _ = venue(balance=50.0)
    exchange.on_tick(tick(0, 100.0))
    with pytest.raises(ApiError) as caught:
        exchange.submit(KEY, order(1, 10), T0)  # 100 USDT of margin
    assert caught.value.code == INSUFFICIENT_BALANCE
    with pytest.raises(ApiError) as caught:
        exchange.submit(KEY, {**order(1, 1), "leverage": 500}, T0)
    assert caught.value.code == LEVERAGE_OUT_OF_RANGE
    with pytest.raises(ApiError) as caught:
        exchange.submit(KEY, order(4, 1), T0)
    assert caught.value.code == INSUFFICIENT_POSITION


def test_one_way_mode_nets_an_opposite_open_against_the_position() -> None:
    exchange, _ = venue(mode=ONE_WAY)
    exchange.on_tick(tick(0, 100.0))
    exchange.submit(KEY, {**order(1, 20), "positionMode": ONE_WAY}, T0)
    exchange.on_tick(tick(1, 100.0))
    exchange.submit(KEY, {**order(3, 5, oid="y"), "positionMode": ONE_WAY}, T0 + 1)
    exchange.on_tick(tick(2, 100.0))
    assert [(p["positionType"], p["holdVol"]) for p in exchange.open_positions(KEY, None)] == [(1, 15)]


def api_client(secret: str = CREDENTIALS.secret_key) -> tuple[MexcFuturesClient, SimulatedMexcExchange]:
    exchange, _ = venue()
    api = ExchangeApi(exchange, {KEY: CREDENTIALS.secret_key}, now=lambda: T0)
    transport = SimExchangeTransport(api, FaultPlan.preset("none").injector("exchange", 0))
    http = httpx.AsyncClient(transport=transport, base_url="https://contract.mexc.com")
    return MexcFuturesClient(http, ApiCredentials(KEY, secret), FixedClock()), exchange


@pytest.mark.anyio
async def test_private_requests_above_20_per_2_seconds_get_510() -> None:
    client, _ = api_client()
    for _ in range(RATE_LIMIT):
        await client.open_positions()
    with pytest.raises(RateLimited):
        await client.open_positions()
    await client.contract_detail("SOL_USDT")  # public endpoints are not limited


@pytest.mark.anyio
async def test_a_wrong_secret_fails_the_signature_check_and_rejects_map_to_codes() -> None:
    client, _ = api_client(secret="not-the-secret")
    with pytest.raises(AuthenticationError, match="602"):
        await client.open_positions()
    client, _ = api_client()
    with pytest.raises(ExchangeRejected, match="2008"):
        await client.submit_order(order(4, 1))
