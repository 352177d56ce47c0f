"""ExecutionController: the life of one trading session, from IDLE to STOPPED or FAILED.

The session runs as one task (:meth:`run`) in the UnifiedTradingController's task group and
owns a task group of its own for the data source's background work, so nothing it starts can
outlive it.  Start-up creates every component through the container and starts it, in the
order data will flow backwards through them: indicator engine, strategy manager, the order
manager *of the session's mode* (in live mode followed by its PositionSyncService, which brings
it the exchange's fills), and last the data source, so no event is published before its
subscribers exist.  Shutdown stops them in the reverse order.

Seed report defects fixed here: the order manager of the mode is created *and started* by
the controller (defect 1: in backtest no order manager was ever created), and every state
change is an awaited ``_transition_to`` that is validated, logged and published (defect 4).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.abc import TaskGroup, TaskStatus

from system import topics
from system.controllers.session import ALLOWED_TRANSITIONS, ExecutionState, SessionSpec
from system.data.historical import QuestDBHistoricalDataSource
from system.data.live import LiveMarketDataSource
from system.errors import InvalidTransition, SessionError
from system.orders.base import OrderManagerBase
from system.orders.live import LiveOrderManager
from system.sync.service import PositionSyncService

if TYPE_CHECKING:
    from system.container import Container

log = logging.getLogger(__name__)


class _Component(Protocol):
    async def stop(self) -> None: ...


DataSource = QuestDBHistoricalDataSource | LiveMarketDataSource


class ExecutionController:
    def __init__(self, container: Container, session_id: str, spec: SessionSpec, *,
                 state: ExecutionState = ExecutionState.IDLE) -> None:
        self._container = container
        self._bus = container.event_bus
        self._clock = container.clock
        self.session_id = session_id
        self.spec = spec
        self.mode = spec.mode
        self.state = state
        """IDLE when created; after a restart, the state its ``sessions`` row was left in."""
        self._restore: tuple[list[Any], list[Any]] | None = None
        self.error: BaseException | None = None
        """Why the session FAILED (the root cause, unwrapped from exception groups)."""
        self.indicator_engine: Any = None
        self.strategy_manager: Any = None
        self.order_manager: OrderManagerBase | None = None
        self.data_source: DataSource | None = None
        self.position_sync: PositionSyncService | None = None
        self._running: list[_Component] = []  # started components, in start order
        self._wait_scope: anyio.CancelScope | None = None
        self._stop_requested = False
        self.finished = anyio.Event()
        """Set once the session is STOPPED or FAILED."""

    # -- the session's task --------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start, trade until the end of the session (or :meth:`stop`), shut down.

        ``task_status.started()`` is called once the session is RUNNING, or FAILED at start-up,
        so ``task_group.start(controller.run)`` returns when start-up is over either way.
        """
        started = False
        try:
            await self._transition_to(ExecutionState.STARTING)
            async with anyio.create_task_group() as task_group:
                await self._start_components(task_group)
                await self._transition_to(ExecutionState.RUNNING)
                task_status.started()
                started = True
                await self._until_end()
                await self._transition_to(ExecutionState.STOPPING)
                await self._stop_components()
            await self._transition_to(ExecutionState.STOPPED)
        except Exception as error:
            await self._fail(_root_cause(error))
        except anyio.get_cancelled_exc_class():
            await self._fail(SessionError(self.session_id, "cancelled from outside before it stopped"))
            raise
        finally:
            if not started:
                task_status.started()
            self.finished.set()

    async def after_crash(self, *, resume: bool, order_rows: list[Any] = (), position_rows: list[Any] = ()) -> None:
        """A session a crash left unfinished: RECOVERING (its book is rebuilt from ``order_rows``
        and ``position_rows`` when it starts again) or, not resumed, INTERRUPTED (terminal)."""
        if resume:
            self._restore = (list(order_rows), list(position_rows))
            await self._transition_to(ExecutionState.RECOVERING)
        else:
            await self._transition_to(ExecutionState.INTERRUPTED)
            self.finished.set()

    async def stop(self) -> None:
        """Ask the session to stop and wait until it is STOPPED or FAILED (idempotent)."""
        if self.state.terminal:
            return
        if self.state is ExecutionState.IDLE:
            await self._transition_to(ExecutionState.STOPPED)
            self.finished.set()
            return
        self._stop_requested = True
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        await self.finished.wait()

    # -- start-up and shutdown -----------------------------------------------------------------

    async def _start_components(self, task_group: TaskGroup) -> None:
        container = self._container
        self.indicator_engine = container.create_indicator_engine(self.session_id)
        await self._start(self.indicator_engine)
        self.strategy_manager = container.create_strategy_manager(self.session_id)
        await self._start(self.strategy_manager)
        self.order_manager = self._create_order_manager()
        if self._restore is not None:  # after a crash: the book as the tables remember it
            restore, self._restore = self._restore, None
            await self.order_manager.restore(*restore)
            self.strategy_manager.resume(self.order_manager.holdings())
        await self._start(self.order_manager)
        if isinstance(self.order_manager, LiveOrderManager):  # its fills arrive through the sync service
            self.position_sync = container.create_position_sync_service(self.session_id, self.order_manager)
            await self.position_sync.start(task_group)
            self._running.append(self.position_sync)
        self.data_source = self._create_data_source()
        await self.data_source.start(task_group)
        self._running.append(self.data_source)

    async def _start(self, component: Any) -> None:
        await component.start()
        self._running.append(component)

    def _create_order_manager(self) -> OrderManagerBase:
        """The order manager of the session's mode: each mode executes its signals differently."""
        container = self._container
        balance = self.spec.initial_balance
        random = container.session_random(self.spec)
        if self.mode == "backtest":
            return container.create_backtest_order_manager(self.session_id, initial_balance=balance, random=random)
        if self.mode == "paper":
            return container.create_order_manager(self.session_id, initial_balance=balance, random=random)
        return container.create_live_order_manager(self.session_id, initial_balance=balance, random=random)

    def _create_data_source(self) -> DataSource:
        if self.mode == "backtest":
            return self._container.create_historical_data_source(self.session_id, self.spec)
        return self._container.create_live_data_source(self.session_id, self.spec)

    async def _until_end(self) -> None:
        """Backtest: until the history is exhausted.  Paper/live: until ``spec.end`` on the Clock
        or the feed ends.  Either way, :meth:`stop` ends the wait early."""
        assert self.data_source is not None  # set by _start_components
        waits: list[Callable[[], Awaitable[Any]]] = [self.data_source.done.wait]
        if self.mode != "backtest":
            waits.append(self._sleep_until_end)
        with anyio.CancelScope() as self._wait_scope:
            if self._stop_requested:
                self._wait_scope.cancel()
            await _first_of(waits)

    async def _sleep_until_end(self) -> None:
        remaining = (self.spec.end - self._clock.now()).total_seconds()
        if remaining > 0:
            await self._clock.sleep(remaining)

    async def _stop_components(self) -> None:
        """Stop every started component, newest first; raise the first error after trying all."""
        first_error: Exception | None = None
        while self._running:
            component = self._running.pop()
            try:
                await component.stop()
            except Exception as error:
                log.exception("session.stop_error session_id=%s component=%s",
                              self.session_id, type(component).__name__)
                first_error = first_error or error
        if first_error is not None:
            raise first_error

    async def _fail(self, error: BaseException) -> None:
        self.error = error
        log.error("session.failed session_id=%s mode=%s state=%s error=%s: %s", self.session_id, self.mode,
                  self.state, type(error).__name__, error, exc_info=error)
        with anyio.CancelScope(shield=True):
            try:
                await self._stop_components()
            except Exception:  # already logged per component; the session fails for `error`
                pass
            if not self.state.terminal:
                await self._transition_to(ExecutionState.FAILED)

    # -- the state machine ---------------------------------------------------------------------

    async def _transition_to(self, new_state: ExecutionState) -> None:
        """Validate, log and publish one state change.  Always awaited: the publish is the record."""
        old_state = self.state
        if new_state not in ALLOWED_TRANSITIONS[old_state]:
            raise InvalidTransition(self.session_id, old_state.value, new_state.value)
        self.state = new_state
        log.info("session.transition session_id=%s mode=%s %s -> %s",
                 self.session_id, self.mode, old_state.value, new_state.value)
        with anyio.CancelScope(shield=True):  # the state changed: its record must not be cut off
            await self._bus.publish(topics.SESSION_STATE_CHANGED, {
                "session_id": self.session_id, "mode": self.mode, "old_state": old_state.value,
                "new_state": new_state.value, "timestamp": self._clock.now().timestamp(),
            })


async def _first_of(waits: list[Callable[[], Awaitable[Any]]]) -> None:
    """Return as soon as any of ``waits`` returns; cancel the others.

    The first to return sets an event and this task cancels the rest.  A child cancelling the
    group itself would wake this task and the other children at once, in the order anyio keeps
    a scope's tasks in (a set, by address), so one seed could give two schedules.
    """
    first = anyio.Event()

    async def wait_then_signal(wait: Callable[[], Awaitable[Any]]) -> None:
        await wait()
        first.set()

    async with anyio.create_task_group() as group:
        for wait in waits:
            group.start_soon(wait_then_signal, wait)
        await first.wait()
        group.cancel_scope.cancel()


def _root_cause(error: BaseException) -> BaseException:
    """Unwrap exception groups of one exception, so FAILED names the error that happened."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
