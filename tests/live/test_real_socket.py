"""The MEXC client against the simulated exchange served on 127.0.0.1: real sockets, real HTTP.

The only test of the live tier that leaves the process's memory; the server is started and
stopped by the test itself, on the test's event loop, and every wait is bounded.
"""

from __future__ import annotations

import anyio
import httpx
import pytest

from sim.world.exchange.api import ExchangeApi
from sim.world.exchange.server import serve
from sim.world.exchange.venue import Account, SimulatedMexcExchange
from system.exchange import ApiCredentials, AuthenticationError, ExchangeRejected, MexcFuturesClient, OrderState
from tests.live.helpers import CREDENTIALS, NOW, FixedClock
from tests.live.test_sim_exchange import order, tick

pytestmark = pytest.mark.anyio
BOUND = 10.0  # seconds: a hung socket fails the test instead of hanging it


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_client_trades_over_a_real_socket() -> None:
    exchange = SimulatedMexcExchange({CREDENTIALS.access_key: Account(10_000.0)})
    exchange.on_tick(tick(0, 100.0))
    api = ExchangeApi(exchange, {CREDENTIALS.access_key: CREDENTIALS.secret_key}, now=lambda: NOW.timestamp())
    with anyio.fail_after(BOUND):
        async with serve(api) as base_url, httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
            assert base_url.startswith("http://127.0.0.1:")
            client = MexcFuturesClient(http, CREDENTIALS, FixedClock())
            spec = await client.contract_detail("SOL_USDT")
            placed = await client.submit_order(order(1, spec.vol_for(1.0), oid="sock-1"))
            exchange.on_tick(tick(1, 101.0))
            found = await client.order_by_external_oid("SOL_USDT", "sock-1")
            assert found is not None and found.order_id == placed["orderId"]
            assert found.state is OrderState.COMPLETED and found.deal_vol == 10
            positions = await client.open_positions("SOL_USDT")
            assert [(p.hold_vol, p.hold_avg_price) for p in positions] == [(10, 101.0)]
            assert await client.order_by_external_oid("SOL_USDT", "never-placed") is None
            with pytest.raises(ExchangeRejected, match="2008"):
                await client.submit_order(order(4, 100, oid="sock-2"))
            intruder = MexcFuturesClient(http, ApiCredentials(CREDENTIALS.access_key, "wrong"), FixedClock())
            with pytest.raises(AuthenticationError, match="602"):
                await intruder.account_assets()
    assert api.requests == 7
