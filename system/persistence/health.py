"""StorageHealthMonitor: notices when QuestDB stops applying writes to a table, says so, resumes it.

Why it exists: QuestDB acknowledges a write to a WAL table before its write-ahead log applies
it.  When the apply fails the table is *suspended*: later writes are still acknowledged and
queue, readers keep seeing the table as of the failure, and nothing errors (seen on a real
server with an UPDATE of ``positions``; ``questdb-facts.md``).  A system that never looks keeps
trading while its record silently stops growing.

What it does: :meth:`check` reads ``wal_tables()``.  A table newly seen suspended is announced
with ``storage.table_suspended`` (table, error, transactions applied and acknowledged), then the
server is asked to ``ALTER TABLE t RESUME WAL`` (for the tables the system writes), which
retries *from the failed transaction*, so nothing acknowledged is skipped; a table seen applying again is announced with
``storage.table_resumed``.  When the cause persists, the retry fails again and the table stays
suspended.  Order managers listen to both events and open no new position while a table of the
trading record is suspended (closing what is open stays allowed: it reduces risk); the
persistence service logs both, with the transactions that were invisible, for the operator.

When it checks: every ``interval`` seconds of the clock while running (the pace of paper and
live sessions); before every entry an order manager is about to place (a backtest replays
history without the clock moving, so time alone would never trigger a check); and once at
stop, so that a suspension near the end is resumed before the process exits.

On a server without ``wal_tables()`` (PostgreSQL) the first check finds out, logs it once and
every later check is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from system import topics
from system.bus import EventBus, Payload, Subscription
from system.config import RetryPolicy
from system.persistence import statements as sql
from system.persistence.retry import retry_transient
from system.ports import Clock, Database, DatabaseError, QueryError

log = logging.getLogger(__name__)
T = TypeVar("T")

COMPONENT = "StorageHealthMonitor"
ROLE = "storage_health"
RECORD_TABLES = ("sessions", "strategy_signals", "orders", "positions")
"""The tables of the trading record, which this monitor resumes; others are only announced."""
FINAL_RETRY = RetryPolicy(attempts=8, backoff=0.05, max_backoff=1.0)
"""The last check (at stop) has no next one: a transient failure of its reads and resumes is
tried again, as a write is, instead of leaving a table suspended for good."""


class StorageHealthMonitor:
    STUCK_ROUNDS = 8
    """In the final check at stop: resumes in a row that apply nothing before a table is given up."""

    def __init__(self, bus: EventBus, database: Database, clock: Clock, *, interval: float) -> None:
        if not interval > 0:
            raise ValueError(f"StorageHealthMonitor interval must be > 0 seconds, got {interval!r}")
        self._bus = bus
        self._database = database
        self._clock = clock
        self._interval = interval
        self._lock = anyio.Lock()
        self._suspended: dict[str, str] = {}
        """Tables announced as suspended and not yet announced as resumed -> their error."""
        self._supported = True
        self._subscription: Subscription | None = None
        self.checks = 0

    @property
    def suspended(self) -> dict[str, str]:
        """Tables suspended at the last check, with the server's error."""
        return dict(self._suspended)

    async def start(self) -> None:
        """Check before every triggered signal is acted on.  The controller starts this before any
        session, and the bus calls handlers in subscription order, so the check (and the events it
        may publish) comes before any order manager sees the signal."""
        if self._subscription is None:
            self._subscription = await self._bus.subscribe(topics.SIGNAL_GENERATED, self._on_signal,
                                                           component=COMPONENT, role=ROLE)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await self._bus.unsubscribe(subscription)

    async def _on_signal(self, payload: Payload) -> None:
        if payload.get("triggered"):
            await self.check()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Check every ``interval`` seconds until cancelled."""
        task_status.started()
        while True:
            await self._clock.sleep(self._interval)
            await self.check()

    async def check(self, *, final: bool = False) -> None:
        """Read the WAL state of every table; announce changes; try to resume what is suspended.

        While running, one resume per table per check: a cause that lasts (a full disk) keeps the
        table suspended, and entries paused, until a later check finds it gone.  ``final`` (at
        stop) insists while the tables move (see ``STUCK_ROUNDS``), since nobody checks afterwards."""
        if not self._supported:
            return
        async with self._lock:  # one check at a time: events are announced once per change
            self.checks += 1
            suspended = await self._read_suspended(final=final)
            if suspended is None:
                return
            for table, (error, writer_txn, sequencer_txn) in suspended.items():
                if table not in self._suspended:
                    self._suspended[table] = error
                    log.error("storage.table_suspended table=%s error=%s applied=%d acknowledged=%d",
                              table, error, writer_txn, sequencer_txn)
                    await self._bus.publish(topics.STORAGE_TABLE_SUSPENDED, {
                        "table": table, "error": error, "writer_txn": writer_txn,
                        "sequencer_txn": sequencer_txn, "timestamp": self._clock.now().timestamp()})
            still, stuck = suspended, 0
            while still and stuck < (self.STUCK_ROUNDS if final else 1):
                # A resume retries from the failed transaction; that one, or one queued behind it,
                # may fail again.  Finally, keep resuming while the tables move; give up on a cause
                # that outlasts STUCK_ROUNDS resumes in a row without a transaction applied.
                for table in [name for name in still if name in RECORD_TABLES]:
                    await self._resume(table, final=final)
                after = await self._read_suspended(final=final)
                if after is None:
                    return
                moved = any(after.get(name, ("", txns[2], txns[2]))[1] > txns[1] for name, txns in still.items())
                stuck = 0 if moved else stuck + 1
                still = after
            for table in [name for name in self._suspended if name not in still]:
                del self._suspended[table]
                log.warning("storage.table_resumed table=%s", table)
                await self._bus.publish(topics.STORAGE_TABLE_RESUMED, {
                    "table": table, "timestamp": self._clock.now().timestamp()})

    async def wait_applied(self, *, within: float, poll: float = 0.1) -> bool:
        """Wait until every acknowledged write to the record tables is applied (visible), resuming
        a suspended table on the way; True once they are, False after ``within`` seconds (of the Clock).

        Recovery reads the record back after a restart: an acknowledged row still in the WAL is
        durable but invisible, and a book rebuilt without it would repeat or lose its order."""
        waited = 0.0
        while True:
            rows = await self._read_wal()
            if not self._supported:  # no wal_tables(): every acknowledged write is visible at once
                return True
            behind = ["unreadable"] if rows is None else [  # None: this read failed, the next may not
                row["name"] for row in rows if row["name"] in RECORD_TABLES
                and (row["suspended"] or int(row["writerTxn"]) < int(row["sequencerTxn"]))]
            if not behind:
                return True
            if waited >= within:
                log.error("storage.not_applied tables=%s after %.1fs", ",".join(behind), waited)
                return False
            if any(row["suspended"] for row in rows or () if row["name"] in behind):
                await self.check(final=True)
            await self._clock.sleep(poll)
            waited += poll

    async def _read_suspended(self, *, final: bool = False) -> dict[str, tuple[str, int, int]] | None:
        rows = await self._read_wal(final=final)
        if rows is None:
            return None
        return {row["name"]: (str(row["errorMessage"] or "suspended"), int(row["writerTxn"]),
                              int(row["sequencerTxn"]))
                for row in rows if row["suspended"]}

    async def _read_wal(self, *, final: bool = False) -> list[Any] | None:
        """``wal_tables()``'s rows, or None where there is none (or it cannot be read now;
        ``final``: not even after the retries of ``FINAL_RETRY``)."""
        if not self._supported:
            return None

        async def read() -> list[Any]:
            async with self._database.acquire() as connection:
                return list(await connection.fetch(sql.SELECT_WAL_STATE))

        try:
            return await self._attempt(read, final=final, what="wal_tables()")
        except QueryError as error:
            self._supported = False
            log.info("storage.health disabled: the database has no wal_tables() (%s)", error)
            return None
        except DatabaseError as error:  # a health check must never take the system down
            log.warning("storage.health check failed: %s", error)
            return None

    async def _resume(self, table: str, *, final: bool = False) -> None:
        """One constant statement per table (a table name cannot be a bind parameter)."""

        async def resume() -> None:
            async with self._database.acquire() as connection:
                match table:
                    case "sessions":
                        await connection.execute(sql.RESUME_SESSIONS_WAL)
                    case "strategy_signals":
                        await connection.execute(sql.RESUME_STRATEGY_SIGNALS_WAL)
                    case "orders":
                        await connection.execute(sql.RESUME_ORDERS_WAL)
                    case "positions":
                        await connection.execute(sql.RESUME_POSITIONS_WAL)

        try:
            await self._attempt(resume, final=final, what=f"resume {table}")
        except DatabaseError as error:
            log.error("storage.resume_failed table=%s error=%s", table, error)

    async def _attempt(self, call: Callable[[], Awaitable[T]], *, final: bool, what: str) -> T:
        """``call()`` once; in the final check, retried per ``FINAL_RETRY`` on transient errors."""
        if final:
            return await retry_transient(call, policy=FINAL_RETRY, clock=self._clock, what=what)
        return await call()
