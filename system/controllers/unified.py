"""UnifiedTradingController: the system's front door - shared services and every session.

It owns what all sessions share (the TradingPersistenceService, the StorageHealthMonitor and,
when enabled, the NotificationService) and a task group in which each session runs as one task, so sessions
run concurrently yet isolated: each has its own components, which ignore the other
sessions' events on the shared bus.

``start()`` enters that task group and ``stop()`` leaves it, so the two must be awaited from
the same task, with no cancel scope opened in between that is still open at ``stop()``
(``async with anyio.fail_after(...): await controller.start()`` would break this).
``stop()`` stops every session still running before it returns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from system.controllers.execution import ExecutionController
from system.controllers.session import ExecutionState, SessionSpec
from system.errors import SessionError
from system.persistence import statements as sql

if TYPE_CHECKING:
    from system.container import Container
    from system.notifications import NotificationService
    from system.persistence.health import StorageHealthMonitor
    from system.persistence.service import TradingPersistenceService

log = logging.getLogger(__name__)

RECOVERY_WAL_TIMEOUT = 60.0
"""Seconds ``recover`` waits for the database to apply acknowledged writes before it reads them."""


class UnifiedTradingController:
    def __init__(self, container: Container) -> None:
        self._container = container
        self._sessions: dict[str, ExecutionController] = {}
        self._task_group: TaskGroup | None = None
        self.persistence: TradingPersistenceService | None = None
        self.storage_health: StorageHealthMonitor | None = None
        self.notifications: NotificationService | None = None
        self._storage_watch: anyio.CancelScope | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task_group is not None:
            return
        self.persistence = self._container.create_trading_persistence_service()
        await self.persistence.start()
        # Subscribed before any session's order manager: on a signal it checks the WAL first.
        self.storage_health = self._container.create_storage_health_monitor()
        await self.storage_health.start()
        self.notifications = self._container.create_notification_service()
        if self.notifications is not None:
            await self.notifications.start()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._storage_watch = anyio.CancelScope()
        task_group.start_soon(self._watch_storage, self.storage_health, self._storage_watch)

    async def stop(self) -> None:
        """Stop every running session, then the shared services (idempotent)."""
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return
        try:
            for controller in list(self._sessions.values()):
                if controller.state in (ExecutionState.STARTING, ExecutionState.RUNNING, ExecutionState.STOPPING):
                    await controller.stop()
        finally:
            if self._storage_watch is not None:
                self._storage_watch.cancel()
            try:
                if self.storage_health is not None:
                    with anyio.CancelScope(shield=True):  # resume a late suspension before the record is left
                        await self.storage_health.check(final=True)
            finally:  # whatever the check raised, the task group is left: its tasks end with it
                await task_group.__aexit__(None, None, None)
            if self.storage_health is not None:
                await self.storage_health.stop()
            if self.notifications is not None:
                await self.notifications.stop()
            if self.persistence is not None:
                await self.persistence.stop()

    # -- sessions ------------------------------------------------------------------------------

    async def create_session(self, spec: SessionSpec) -> str:
        """Register a session (IDLE) and record its ``sessions`` row; returns its id."""
        persistence = self._require_started("create_session")
        container = self._container
        session_id = container.ids.new_id("session")
        self._sessions[session_id] = ExecutionController(container, session_id, spec)
        balance = container.config.initial_balance if spec.initial_balance is None else spec.initial_balance
        await persistence.record_session(
            session_id, mode=spec.mode, status=ExecutionState.IDLE.value, symbols=spec.symbols,
            started_at=container.clock.now(), initial_balance=balance, config=self._session_record(spec))
        log.info("session.created session_id=%s mode=%s symbols=%s", session_id, spec.mode, ",".join(spec.symbols))
        return session_id

    async def recover(self, *, wal_timeout: float = RECOVERY_WAL_TIMEOUT) -> list[str]:
        """After a restart: settle every session the last process left unfinished; returns the
        ids of the sessions to start again (``start_session``), in the order they were created.

        Which unfinished sessions, and what becomes of them, is read from the tables only (the
        process that ran them is gone): a paper or live session is *resumed* — RECOVERING, its
        order manager rebuilt from its ``orders`` and ``positions`` rows when it starts, its
        working orders settled by the venue (live: the position sync asks the exchange by client
        order id on start) — and runs on to its end; a backtest is *closed* INTERRUPTED, since
        replaying history again from the start gives the same session.  It first waits for the
        database to apply every acknowledged write, so the book is rebuilt from all of them."""
        persistence = self._require_started("recover")
        if self.storage_health is not None and not await self.storage_health.wait_applied(within=wal_timeout):
            raise SessionError("-", f"recover: acknowledged writes not applied after {wal_timeout:g}s; "
                                    "a book rebuilt now would miss them")
        resumed = []
        for row in await persistence.fetch(sql.SELECT_SESSIONS):
            session_id = row["session_id"]
            try:
                state = ExecutionState(row["status"])
            except ValueError:
                log.error("session.unknown_state session_id=%s status=%r: left alone", session_id, row["status"])
                continue
            if state.terminal or session_id in self._sessions:
                continue
            spec = _spec_from_record(session_id, row["config"])
            controller = ExecutionController(self._container, session_id, spec, state=state)
            self._sessions[session_id] = controller
            if spec.mode == "backtest":
                await controller.after_crash(resume=False)
            else:
                await controller.after_crash(
                    resume=True, order_rows=await persistence.fetch(sql.SELECT_SESSION_ORDERS, session_id),
                    position_rows=await persistence.fetch(sql.SELECT_SESSION_POSITIONS, session_id))
                resumed.append(session_id)
            log.warning("session.recovered session_id=%s mode=%s was=%s now=%s", session_id, spec.mode,
                        state.value, controller.state.value)
        return resumed

    async def start_session(self, session_id: str) -> None:
        """Start the session and return once it is RUNNING; raise SessionError if start-up failed."""
        controller = self.session(session_id)
        if controller.state not in (ExecutionState.IDLE, ExecutionState.RECOVERING):
            raise SessionError(session_id, f"cannot start a session in state {controller.state.value}")
        task_group = self._task_group
        if task_group is None:
            raise SessionError(session_id, "UnifiedTradingController.start() must be awaited first")
        await task_group.start(controller.run)
        if controller.state is ExecutionState.FAILED:
            raise SessionError(session_id, f"failed to start: {controller.error}") from controller.error

    async def wait_session(self, session_id: str) -> ExecutionState:
        """Wait until the session ends by itself (backtest: history exhausted; paper/live: ``spec.end``)
        and has shut down; returns STOPPED or FAILED (then ``session(id).error`` says why)."""
        controller = self.session(session_id)
        if controller.state is ExecutionState.IDLE:
            raise SessionError(session_id, "was never started; nothing to wait for")
        await controller.finished.wait()
        return controller.state

    async def stop_session(self, session_id: str) -> ExecutionState:
        """Stop the session now (idempotent; a session never started goes to STOPPED)."""
        controller = self.session(session_id)
        await controller.stop()
        return controller.state

    def session(self, session_id: str) -> ExecutionController:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionError(session_id, f"unknown session; known: {list(self._sessions)}") from None

    @property
    def sessions(self) -> tuple[ExecutionController, ...]:
        """Every session, in creation order."""
        return tuple(self._sessions.values())

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    async def _watch_storage(monitor: StorageHealthMonitor, scope: anyio.CancelScope) -> None:
        with scope:
            await monitor.run()

    def _require_started(self, operation: str) -> TradingPersistenceService:
        if self._task_group is None or self.persistence is None:
            raise SessionError("-", f"{operation}: UnifiedTradingController.start() must be awaited first")
        return self.persistence

    def _session_record(self, spec: SessionSpec) -> dict[str, Any]:
        """What the session runs with, as JSON-able data for the ``sessions.config`` column."""
        record = {"spec": dataclasses.asdict(spec), "system": dataclasses.asdict(self._container.config)}
        return json.loads(json.dumps(record, default=str))


def _spec_from_record(session_id: str, config: Any) -> SessionSpec:
    """The SessionSpec a session was created with, from its ``sessions.config`` JSON."""
    try:
        spec = json.loads(config)["spec"]
        return SessionSpec(mode=spec["mode"], symbols=tuple(spec["symbols"]),
                           start=datetime.fromisoformat(spec["start"]), end=datetime.fromisoformat(spec["end"]),
                           initial_balance=spec.get("initial_balance"))
    except (TypeError, ValueError, KeyError) as error:
        raise SessionError(session_id, f"recover: sessions.config is not a session record ({error!r}): "
                                       f"{str(config)[:120]!r}") from error
