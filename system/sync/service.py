"""PositionSyncService: keeps a live session's book in step with the exchange.

It owns the private push stream of the account and hands its deals and order updates to the
:class:`~system.orders.live.LiveOrderManager`.  Pushes can be lost (a dropped connection
loses what was pushed meanwhile; a submission whose reply never came is settled by nobody),
so it also *resynchronises*: on start, after every reconnect, every ``interval`` seconds on
the Clock and once more when it stops, it asks the exchange about every order the manager
still holds as working (by ``externalOid``) and publishes a ``position.sync_corrected`` event
for each one the exchange has settled, which the manager applies.  Then it compares the
exchange's open positions with the manager's and logs any drift it cannot explain
(``drifts``), which is what an operator (and the end-of-run oracle) must look at.

Choosing ``interval``: the time a missed fill may stay unknown.  Each pass costs one request
per unsettled order plus one, against the exchange's 20 requests per 2 s.
"""

from __future__ import annotations

import logging
import math
from contextlib import aclosing
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup, TaskStatus

from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.errors import MarketFeedError
from system.exchange import models
from system.exchange.errors import ExchangeError, ExchangeTransientError, MalformedReply
from system.ports import Clock, FuturesExchange, PrivateStream, PushMessage
from system.sync.corrections import correction

if TYPE_CHECKING:
    from system.orders.live import LiveOrderManager

log = logging.getLogger(__name__)

ORDER_CHANNEL = "push.personal.order"
DEAL_CHANNEL = "push.personal.order.deal"
POSITION_CHANNEL = "push.personal.position"
DEFAULT_INTERVAL = 30.0
_SETTLED = {models.OrderState.COMPLETED: "COMPLETED", models.OrderState.CANCELLED: "CANCELLED",
            models.OrderState.INVALID: "INVALID"}


class PositionSyncService:
    def __init__(self, bus: EventBus, exchange: FuturesExchange, stream: PrivateStream, clock: Clock, *,
                 session_id: str, orders: LiveOrderManager, interval: float = DEFAULT_INTERVAL,
                 reconnect: RetryPolicy | None = None) -> None:
        if not (math.isfinite(interval) and interval > 0):
            raise ValueError(f"PositionSyncService({session_id}): interval must be > 0 seconds, got {interval!r}")
        self._bus = bus
        self._exchange = exchange
        self._stream = stream
        self._clock = clock
        self._orders = orders
        self._reconnect = reconnect or RetryPolicy(attempts=10, backoff=0.5, max_backoff=5.0)
        self.session_id = session_id
        self.interval = interval
        self._scope: anyio.CancelScope | None = None
        self._lock = anyio.Lock()  # one resynchronisation at a time
        self.resyncs: dict[str, int] = {"start": 0, "reconnect": 0, "periodic": 0, "stop": 0}
        self.corrections = 0
        self.reconnects = 0
        self.drifts: list[str] = []

    async def start(self, task_group: TaskGroup) -> None:
        await task_group.start(self._run)

    async def stop(self) -> None:
        """Stop listening, then settle what the stream may have missed (idempotent)."""
        if self._scope is None:
            return
        scope, self._scope = self._scope, None
        scope.cancel()
        with anyio.CancelScope(shield=True):
            await self.resync("stop")

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as self._scope:
            await self.resync("start")
            task_status.started()
            async with anyio.create_task_group() as group:
                group.start_soon(self._periodic)
                await self._listen()
                group.cancel_scope.cancel()

    async def _periodic(self) -> None:
        while True:
            await self._clock.sleep(self.interval)
            await self.resync("periodic")

    async def _listen(self) -> None:
        drops = 0
        while True:
            try:
                async with aclosing(self._stream.messages()) as messages:
                    async for message in messages:
                        drops = 0
                        await self._dispatch(message)
                return
            except ConnectionError as error:
                drops += 1
                self.reconnects += 1
                if drops >= self._reconnect.attempts:
                    raise MarketFeedError(self.session_id, f"private stream dropped {drops} times in a row") \
                        from error
                delay = self._reconnect.delay(drops)
                log.warning("sync.reconnect session_id=%s drop=%d delay=%.3fs", self.session_id, drops, delay)
                await self._clock.sleep(delay)
                await self.resync("reconnect")

    async def _dispatch(self, message: PushMessage) -> None:
        try:
            if message.channel == DEAL_CHANNEL:
                await self._orders.on_deal(models.exchange_deal(message.data, DEAL_CHANNEL))
            elif message.channel == ORDER_CHANNEL:
                await self._orders.on_order(models.exchange_order(message.data, ORDER_CHANNEL))
            elif message.channel != POSITION_CHANNEL:  # positions are compared on each resync
                log.warning("sync.unknown_channel session_id=%s channel=%s", self.session_id, message.channel)
        except MalformedReply:
            log.exception("sync.malformed_push session_id=%s channel=%s", self.session_id, message.channel)

    async def resync(self, reason: str) -> None:
        """Settle every unsettled order from the exchange's answer, then check positions.  An
        order the exchange cannot be asked about now is left for the next pass; the last pass
        (``stop``) has no next one, so it retries each lookup as a reconnect would."""
        attempts = self._reconnect.attempts if reason == "stop" else 1
        async with self._lock:
            self.resyncs[reason] += 1
            for order_id, symbol, external_oid in self._orders.unsettled():
                for attempt in range(1, attempts + 1):
                    try:
                        found = await self._exchange.order_by_external_oid(symbol, external_oid)
                    except ExchangeTransientError as error:
                        log.warning("sync.lookup_failed session_id=%s order=%s attempt=%d error=%s",
                                    self.session_id, order_id, attempt, error)
                        if attempt < attempts:
                            await self._clock.sleep(self._reconnect.delay(attempt))
                        continue
                    await self._correct(order_id, symbol, external_oid, found, reason)
                    break
            await self._check_positions()

    async def _correct(self, order_id: str, symbol: str, external_oid: str,
                       found: models.ExchangeOrder | None, reason: str) -> None:
        if found is None:
            state, quantity, price = "NOT_FOUND", 0.0, 0.0
        elif found.state in _SETTLED:
            spec = self._orders.contract(symbol)
            assert spec is not None, f"{symbol} has an order, so the manager knows its contract"
            quantity = spec.quantity_of(found.deal_vol)
            state, price = _SETTLED[found.state], found.deal_avg_price
        else:
            return  # still working on the exchange: its deals are yet to come
        self.corrections += 1
        log.info("sync.corrected session_id=%s order=%s state=%s reason=%s", self.session_id, order_id, state, reason)
        timestamp = (found.update_time / 1000) if found is not None else self._clock.now().timestamp()
        await self._bus.publish(topics.POSITION_SYNC_CORRECTED, correction(
            session_id=self.session_id, order_id=order_id, external_oid=external_oid, symbol=symbol, state=state,
            filled_quantity=quantity, filled_price=price, reason=reason, timestamp=timestamp))

    async def _check_positions(self) -> None:
        """Drift is only judged between orders: while one is working its fill may be on its way."""
        if not self._orders.settled():
            return
        try:
            positions = await self._exchange.open_positions()
        except ExchangeError as error:
            log.warning("sync.positions_unavailable session_id=%s error=%s", self.session_id, error)
            return
        exchange: dict[tuple[str, str], float] = {}
        for position in positions:
            spec = self._orders.contract(position.symbol)
            if spec is None:  # a symbol this session never traded (another session's): not ours to judge
                continue
            key = (position.symbol, position.position_type.name)
            exchange[key] = exchange.get(key, 0.0) + spec.quantity_of(position.hold_vol)
        local = self._orders.open_quantities()
        for key in sorted(set(exchange) | set(local)):
            there, here = exchange.get(key, 0.0), local.get(key, 0.0)
            if not math.isclose(there, here, rel_tol=1e-9, abs_tol=1e-12):
                drift = f"{key[0]} {key[1]}: exchange {there!r} local {here!r}"
                self.drifts.append(drift)
                log.warning("sync.position_drift session_id=%s %s", self.session_id, drift)
