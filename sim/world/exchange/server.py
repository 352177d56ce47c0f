"""A real HTTP/1.1 server on 127.0.0.1 in front of :class:`ExchangeApi`, for the real-socket
test of the MEXC client (the one place simwire opens a socket; never inside a simulated run).

``async with serve(api) as base_url:`` listens on a free port, serves each connection with
h11 (the HTTP/1.1 state machine httpx itself uses) and stops listening on exit.  It runs on
the caller's event loop; nothing sleeps on the wall clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import h11
import httpx
from anyio.abc import SocketAttribute, SocketStream

from sim.world.exchange.api import ExchangeApi

MAX_REQUEST_BYTES = 1 << 20


@asynccontextmanager
async def serve(api: ExchangeApi, host: str = "127.0.0.1") -> AsyncIterator[str]:
    listener = await anyio.create_tcp_listener(local_host=host, local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, lambda stream: _connection(api, stream))
        try:
            yield f"http://{host}:{port}"
        finally:
            group.cancel_scope.cancel()


async def _connection(api: ExchangeApi, stream: SocketStream) -> None:
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
    async with stream:
        while True:
            request, body = await _read_request(connection, stream)
            if request is None:
                return
            response = api.handle(httpx.Request(
                request.method.decode(), f"http://exchange{request.target.decode()}",
                headers=[(name.decode(), value.decode()) for name, value in request.headers], content=body))
            content = response.content
            for event in (h11.Response(status_code=response.status_code, headers=[
                    ("content-type", "application/json"), ("content-length", str(len(content)))]),
                    h11.Data(data=content), h11.EndOfMessage()):
                await stream.send(connection.send(event) or b"")
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()


async def _read_request(connection: h11.Connection, stream: SocketStream) -> tuple[h11.Request | None, bytes]:
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            try:
                connection.receive_data(await stream.receive())
            except anyio.EndOfStream:
                connection.receive_data(b"")
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            return None, b""
