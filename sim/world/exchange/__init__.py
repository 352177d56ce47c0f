"""The simulated MEXC futures exchange: engine (``venue``), HTTP API (``api``), httpx transport
(``transport``), private push stream (``stream``), loopback server (``server``) and the
assembly for a live run (``world``).  Behaviour and faults: ``docs/live-mode.md``."""

from sim.world.exchange.api import ExchangeApi
from sim.world.exchange.stream import SimPrivateStream
from sim.world.exchange.transport import SimExchangeTransport
from sim.world.exchange.venue import Account, SimulatedMexcExchange
from sim.world.exchange.world import SIM_CREDENTIALS, LiveVenue

__all__ = ["SIM_CREDENTIALS", "Account", "ExchangeApi", "LiveVenue", "SimExchangeTransport", "SimPrivateStream",
           "SimulatedMexcExchange"]
