"""SimPrivateStream: the account's private push stream (``PrivateStream`` port) of the simulated
exchange, with the ``stream`` faults of the plan.

Each ``messages()`` call is one connection: it receives every order, deal and position update
of its API key pushed while it is open.  Per message, in this order: ``error_rate`` drops the
connection there (``ConnectionError``; the message and all later ones are lost to it), then
``latency`` delays the delivery.  Updates pushed while no connection is open are lost, as on
a real websocket, which is why the client resynchronises after reconnecting.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from typing import Any

import anyio

from sim.world.exchange.venue import SimulatedMexcExchange
from sim.world.faults import FaultInjector
from system.ports import PushMessage


class SimPrivateStream:
    def __init__(self, exchange: SimulatedMexcExchange, api_key: str, faults: FaultInjector) -> None:
        self._exchange = exchange
        self._api_key = api_key
        self._faults = faults
        self.drops = 0
        self.delivered = 0

    async def messages(self) -> AsyncGenerator[PushMessage, None]:
        send, receive = anyio.create_memory_object_stream[PushMessage](math.inf)

        def push(api_key: str, channel: str, data: dict[str, Any]) -> None:
            if api_key == self._api_key:
                send.send_nowait(PushMessage(channel, dict(data)))

        self._exchange.add_listener(push)
        try:
            async with receive:
                async for message in receive:
                    if self._faults.fails():
                        self.drops += 1
                        raise ConnectionError("simulated: the private push stream dropped")
                    await self._faults.delay()
                    self.delivered += 1
                    yield message
        finally:
            self._exchange.remove_listener(push)
            send.close()
