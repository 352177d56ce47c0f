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
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from system.controllers.execution import ExecutionController
from system.controllers.session import ExecutionState, SessionSpec
from system.errors import SessionError

if TYPE_CHECKING:
    from system.container import Container
    from system.notifications import NotificationService
    from system.persistence.health import StorageHealthMonitor
    from system.persistence.service import TradingPersistenceService

log = logging.getLogger(__name__)


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
            if self.storage_health is not None:
                with anyio.CancelScope(shield=True):  # resume a late suspension before the record is left
                    await self.storage_health.check(final=True)
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

    async def start_session(self, session_id: str) -> None:
        """Start the session and return once it is RUNNING; raise SessionError if start-up failed."""
        controller = self.session(session_id)
        if controller.state is not ExecutionState.IDLE:
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
