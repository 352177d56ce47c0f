"""LiveVenue: everything a live-mode run needs from the simulated exchange, built from one seed.

The exchange, its HTTP API mounted behind the production ``MexcFuturesClient`` through
:class:`SimExchangeTransport`, the private push stream, and the market feed that drives the
exchange's matching: each tick of the simulated market is a trade on the exchange (matched
*before* the system sees it, as a public deal push would follow the match).  ``facts()``
is what the live oracles compare with the system's books after the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from sim.world.exchange.api import ExchangeApi
from sim.world.exchange.contracts import contract
from sim.world.exchange.stream import SimPrivateStream
from sim.world.exchange.transport import SimExchangeTransport
from sim.world.exchange.venue import Account, SimulatedMexcExchange
from sim.world.faults import FaultPlan
from sim.world.ports import VirtualClock
from system.exchange import ApiCredentials, MexcFuturesClient
from system.exchange.config import DEFAULT_BASE_URL
from system.ports import MarketFeed, Tick

SIM_CREDENTIALS = ApiCredentials(access_key="mx0vglSimAccessKey7Q", secret_key="sim-secret-3f9c2a7be41d4c08a5")
"""The run's API key pair, as configuration would give it; the secret-leak oracle looks for both."""


class LiveVenue:
    def __init__(self, *, seed: int, plan: FaultPlan, clock: VirtualClock, balance: float, fee_rate: float,
                 credentials: ApiCredentials = SIM_CREDENTIALS) -> None:
        self.credentials = credentials
        faults = plan.injector("exchange", seed)
        key = credentials.access_key
        self.exchange = SimulatedMexcExchange({key: Account(balance)}, taker_fee=fee_rate, maker_fee=fee_rate / 2,
                                              fill_delay=faults.lag)
        self.api = ExchangeApi(self.exchange, {key: credentials.secret_key}, now=lambda: clock.now().timestamp())
        self.transport = SimExchangeTransport(self.api, faults)
        self.http = httpx.AsyncClient(transport=self.transport, base_url=DEFAULT_BASE_URL, trust_env=False)
        self.client = MexcFuturesClient(self.http, credentials, clock)
        self.stream = SimPrivateStream(self.exchange, key, plan.injector("stream", seed))

    def ports(self) -> dict[str, Any]:
        """The container keywords of live mode."""
        return {"exchange": self.client, "private_stream": self.stream}

    def market_feed(self, feed: MarketFeed) -> MarketFeed:
        return _MatchingFeed(feed, self.exchange)

    async def aclose(self) -> None:
        await self.http.aclose()

    def facts(self) -> dict[str, Any]:
        """The exchange's side of the books, in base units."""
        account = self.exchange.accounts[self.credentials.access_key]
        positions: dict[tuple[str, str], tuple[float, float]] = {}
        for (symbol, kind), position in sorted(account.positions.items()):
            if position.hold_vol > 0:
                size = contract(symbol)["contractSize"]
                positions[(symbol, "LONG" if kind == 1 else "SHORT")] = (position.hold_vol * size,
                                                                         position.hold_avg_price)
        return {
            "orders": [{**order.view(), "dealQuantity": order.deal_vol * contract(order.symbol)["contractSize"]}
                       for order in self.exchange.orders.values()],
            "positions": positions,
            "secrets": (self.credentials.access_key, self.credentials.secret_key),
            "faults": dict(self.transport.injected, stream_drops=self.stream.drops),
            "requests": self.api.requests,
        }


class _MatchingFeed:
    """The public deal stream: each tick is matched on the exchange, then yielded."""

    def __init__(self, feed: MarketFeed, exchange: SimulatedMexcExchange) -> None:
        self._feed = feed
        self._exchange = exchange

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[Tick]:
        ticks = self._feed.stream(symbols)
        try:
            async for tick in ticks:
                self._exchange.on_tick(tick)
                yield tick
        finally:  # close the inner generator now, not whenever it is collected (in another run)
            close = getattr(ticks, "aclose", None)
            if close is not None:
                await close()
