"""TradingPersistenceService: the trading record (signals, orders, positions, sessions) in QuestDB.

One shared service writes every session.  It subscribes with role ``persistence`` and writes
*inside* each handler: the bus awaits handlers one after another, so the UPDATE of an order
can never overtake its INSERT, even when sessions run concurrently (each session publishes
from its own task; an entity's events all come from one session).  The price is that a
retrying write stalls the publishing session for the length of the retry - which is the
right trade for a trading record.

Semantics (``docs/architecture.md``): ``strategy_signals`` INSERT per signal; ``orders``
INSERT on created/rejected, UPDATE on filled/cancelled by ``order_id``; ``positions`` INSERT
on opened, UPDATE on updated/closed by ``position_id``; ``sessions`` INSERT at creation
(:meth:`record_session`), UPDATE on each state change.  Every INSERT writes every column,
``signal_id`` and ``session_id`` included (seed report defects 2 and 3).

Failure policy: ``TransientDatabaseError`` is retried per ``PersistenceConfig.retry``; when
retries run out, or the statement or payload is bad, a :class:`PersistenceFailure` is
appended to ``failures`` and logged at ERROR.  No row is dropped without one of those.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from system import topics
from system.bus import EventBus, Payload, Subscription
from system.config import PersistenceConfig
from system.errors import PersistenceFailure
from system.persistence import statements as sql
from system.persistence.retry import retry_transient
from system.persistence.timestamps import aware_to_db_timestamp, to_db_timestamp
from system.ports import Clock, Database, DatabaseError, TransientDatabaseError

log = logging.getLogger(__name__)

COMPONENT = "TradingPersistenceService"
ROLE = "persistence"
TERMINAL_SESSION_STATES = ("STOPPED", "FAILED", "INTERRUPTED")

Args = tuple[Any, ...]


class TradingPersistenceService:
    def __init__(self, bus: EventBus, database: Database, clock: Clock, *, config: PersistenceConfig) -> None:
        self._bus = bus
        self._database = database
        self._clock = clock
        self._config = config
        self._subscriptions: list[Subscription] = []
        self.failures: list[PersistenceFailure] = []

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._subscriptions:
            return
        routes: tuple[tuple[str, Callable[[Payload], Awaitable[None]]], ...] = (
            (topics.SIGNAL_GENERATED, self._on_signal_generated),
            (topics.ORDER_CREATED, self._on_order_created),
            (topics.ORDER_FILLED, self._on_order_filled),
            (topics.ORDER_REJECTED, self._on_order_rejected),
            (topics.ORDER_CANCELLED, self._on_order_cancelled),
            (topics.POSITION_OPENED, self._on_position_opened),
            (topics.POSITION_UPDATED, self._on_position_updated),
            (topics.POSITION_CLOSED, self._on_position_closed),
            (topics.SESSION_STATE_CHANGED, self._on_session_state_changed),
            (topics.STORAGE_TABLE_SUSPENDED, self._on_storage_suspended),
            (topics.STORAGE_TABLE_RESUMED, self._on_storage_resumed),
        )
        for topic, handler in routes:
            self._subscriptions.append(await self._bus.subscribe(topic, handler, component=COMPONENT, role=ROLE))

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await self._bus.unsubscribe(subscription)

    # -- sessions ------------------------------------------------------------------------------

    async def record_session(self, session_id: str, *, mode: str, status: str, symbols: Sequence[str],
                             started_at: datetime, initial_balance: float, config: Mapping[str, Any]) -> None:
        """INSERT the session's row when it is created; state changes then UPDATE it."""
        args = (session_id, mode, status, ",".join(symbols), aware_to_db_timestamp(started_at), None,
                initial_balance, _json(config))
        await self._write("create_session", "sessions", session_id, sql.INSERT_SESSION, lambda: args)

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        """Read the record back (recovery after a restart), retrying transient failures as writes do."""
        rows: list[Any] = []

        async def read() -> None:
            nonlocal rows
            async with self._database.acquire() as connection:
                rows = list(await connection.fetch(query, *args))

        await retry_transient(read, policy=self._config.retry, clock=self._clock, what=f"read {query[:40]}")
        return rows

    # -- handlers ------------------------------------------------------------------------------

    async def _on_signal_generated(self, p: Payload) -> None:
        await self._write(topics.SIGNAL_GENERATED, "strategy_signals", p.get("signal_id"), sql.INSERT_SIGNAL,
                          lambda: (p["signal_id"], p["strategy_id"], p["symbol"], p["session_id"],
                                   p["signal_type"], to_db_timestamp(p["timestamp"]), p["triggered"],
                                   p["action"], _json(p["conditions_met"]), _json(p["indicator_values"]),
                                   _json(p["metadata"])))

    async def _on_order_created(self, p: Payload) -> None:
        await self._write(topics.ORDER_CREATED, "orders", p.get("order_id"), sql.INSERT_ORDER,
                          lambda: (p["order_id"], p["signal_id"], p["strategy_id"], p["symbol"],
                                   p["session_id"], p["side"], p["order_type"], to_db_timestamp(p["timestamp"]),
                                   p["quantity"], p["price"], 0.0, None, p["status"], 0.0,
                                   _json(p["metadata"])))

    async def _on_order_rejected(self, p: Payload) -> None:
        # A rejected order never reached the market: nothing filled.  ``order_type`` is optional in
        # the event (NULL when absent); the reason goes into metadata, the one place the orders
        # table has for it.
        await self._write(topics.ORDER_REJECTED, "orders", p.get("order_id"), sql.INSERT_ORDER,
                          lambda: (p["order_id"], p["signal_id"], p["strategy_id"], p["symbol"],
                                   p["session_id"], p["side"], p.get("order_type"),
                                   to_db_timestamp(p["timestamp"]),
                                   p["quantity"], p["price"], 0.0, None, "REJECTED", 0.0,
                                   _json({"reason": p["reason"]})))

    async def _on_order_filled(self, p: Payload) -> None:
        await self._write(topics.ORDER_FILLED, "orders", p.get("order_id"), sql.UPDATE_ORDER_FILL,
                          lambda: (p["filled_quantity"], p["filled_price"], p["commission"], p["status"],
                                   p["order_id"], p["session_id"]))

    async def _on_order_cancelled(self, p: Payload) -> None:
        # The orders table has no column for a cancel reason and an UPDATE cannot merge it into
        # the JSON metadata, so the reason is logged with the order id instead.
        log.info("persistence.order_cancelled order_id=%s session_id=%s reason=%s",
                 p.get("order_id"), p.get("session_id"), p.get("reason"))
        await self._write(topics.ORDER_CANCELLED, "orders", p.get("order_id"), sql.UPDATE_ORDER_STATUS,
                          lambda: ("CANCELLED", p["order_id"], p["session_id"]))

    async def _on_position_opened(self, p: Payload) -> None:
        await self._write(topics.POSITION_OPENED, "positions", p.get("position_id"), sql.INSERT_POSITION,
                          lambda: (p["position_id"], p["strategy_id"], p["symbol"], p["session_id"],
                                   to_db_timestamp(p["timestamp"]), p["side"], p["quantity"], p["entry_price"],
                                   p["current_price"], 0.0, 0.0, p.get("stop_loss"), p.get("take_profit"),
                                   "OPEN", _json(p["metadata"])))

    async def _on_position_updated(self, p: Payload) -> None:
        await self._write(topics.POSITION_UPDATED, "positions", p.get("position_id"), sql.UPDATE_POSITION_MARK,
                          lambda: (p["quantity"], p["entry_price"], p["current_price"], p["unrealized_pnl"],
                                   p["position_id"], p["session_id"]))

    async def _on_position_closed(self, p: Payload) -> None:
        await self._write(topics.POSITION_CLOSED, "positions", p.get("position_id"), sql.UPDATE_POSITION_CLOSE,
                          lambda: (p["current_price"], p["realized_pnl"], 0.0, "CLOSED",
                                   p["position_id"], p["session_id"]))

    async def _on_session_state_changed(self, p: Payload) -> None:
        if p.get("new_state") in TERMINAL_SESSION_STATES:
            await self._write(topics.SESSION_STATE_CHANGED, "sessions", p.get("session_id"),
                              sql.UPDATE_SESSION_FINISHED,
                              lambda: (p["new_state"], to_db_timestamp(p["timestamp"]), p["session_id"]))
        else:
            await self._write(topics.SESSION_STATE_CHANGED, "sessions", p.get("session_id"),
                              sql.UPDATE_SESSION_STATUS, lambda: (p["new_state"], p["session_id"]))

    async def _on_storage_suspended(self, p: Payload) -> None:
        # The rows after writer_txn were acknowledged and are invisible until the table resumes.
        log.error("persistence.table_suspended table=%s applied=%s acknowledged=%s error=%s",
                  p.get("table"), p.get("writer_txn"), p.get("sequencer_txn"), p.get("error"))

    async def _on_storage_resumed(self, p: Payload) -> None:
        log.warning("persistence.table_resumed table=%s", p.get("table"))

    # -- writing -------------------------------------------------------------------------------

    async def _write(self, topic: str, table: str, entity_id: object, query: str,
                     build_args: Callable[[], Args]) -> None:
        """Build the arguments from the payload, execute with retry, record any failure."""
        entity = str(entity_id) if entity_id is not None else "<missing id>"
        try:
            args = build_args()
        except KeyError as error:
            self._fail(topic, table, entity, 0, f"payload has no field {error.args[0]!r}")
            return
        except (TypeError, ValueError) as error:
            self._fail(topic, table, entity, 0, f"payload value not writable: {error}")
            return
        attempts = 0

        async def execute() -> None:
            nonlocal attempts
            attempts += 1
            async with self._database.acquire() as connection:
                await connection.execute(query, *args)

        try:
            await retry_transient(execute, policy=self._config.retry, clock=self._clock,
                                  what=f"{table} {topic} {entity}")
        except TransientDatabaseError as error:
            self._fail(topic, table, entity, attempts, f"still failing after retries: {error}")
        except DatabaseError as error:
            self._fail(topic, table, entity, attempts, f"{type(error).__name__}: {error}")
        else:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("persistence.write table=%s topic=%s id=%s attempts=%d", table, topic, entity, attempts)

    def _fail(self, topic: str, table: str, entity: str, attempts: int, reason: str) -> None:
        failure = PersistenceFailure(topic, table, entity, attempts, reason)
        self.failures.append(failure)
        log.error("persistence.failure %s", failure)


def _json(value: Any) -> str:
    """JSON text for a STRING column; sorted keys so equal values are equal text (dedup, diffs)."""
    return json.dumps(value, sort_keys=True)
