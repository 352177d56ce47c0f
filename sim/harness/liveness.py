"""The liveness phase of a run (TigerBeetle's VOPR): faults off, the system keeps running, and
it must converge within a declared bound of virtual time.

A run has two phases.  In the *safety* phase faults are on and nothing may be lost or
doubled.  In the *liveness* phase, the last ``bound`` seconds of a clock-paced session
(paper, live), every fault injector is switched off while the session keeps trading, and at
the end of the phase, *before* the session stops (so before the final resynchronisation
can repair anything):

- every order the exchange completed more than ``bound`` ago is FILLED locally
  (``oracle.liveness-order-unknown``): with faults off, the push stream or the next periodic
  resync must have brought it, within the resync interval plus slack;
- every task that was running when the sessions were started is still running
  (``oracle.liveness-task-ended``): a listener, sync loop or feed that returned or died
  silently is a component that stopped working, even if the stop repairs the end state;
- no local order has been working for longer than ``bound`` (``oracle.liveness-order-stuck``):
  paper orders fill on the next trade; a live order the exchange still fills (a share of each
  trade's volume) is working there too, anything else is settled by the next resync;

and once the system has stopped, the database applies its WAL within ``WAL_BOUND`` virtual
seconds (``oracle.liveness-wal``).

Backtests run in no virtual time (history is replayed as fast as it is read), so only the WAL
part applies to them.  Entry points: :meth:`LivenessPhase.watch`, started beside the running
sessions, and :func:`wal_applied` after the stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from simwire.violation import Violation

RESYNC_INTERVAL = 30.0
"""``system.sync.service.DEFAULT_INTERVAL``: the longest a missed fill may stay unknown."""
SLACK = 15.0
"""Reconnect back-off (at most 5 s), delayed fills and request latency on top of a resync."""
BOUND = RESYNC_INTERVAL + SLACK
"""Virtual seconds the system gets to converge once faults are off."""
WAL_BOUND = 5.0
"""Virtual seconds after the stop within which every acknowledged write must be visible."""
_COMPLETED = 3  # exchange order state "completed"
_WORKING = (1, 2)  # exchange order states "uninformed", "uncompleted"


@dataclass
class LivenessPhase:
    """One run's liveness phase; ``check_at`` is the monotonic (virtual) time of the verdict."""

    check_at: float
    injectors: Sequence[Any]
    """Every fault injector of the run (``sim.world.faults.FaultInjector``), switched off at ``check_at - bound``."""
    controller: Any
    session_ids: Sequence[str]
    clock: Any
    venue: Any = None
    bound: float = BOUND
    location: str = ""
    violations: list[Violation] = field(default_factory=list)
    quiet_from: float | None = None
    """When the faults were switched off (None: the session ended first)."""

    @classmethod
    def for_run(cls, *, mode: str, last_tick: float, tick_seconds: float, **parts: Any) -> LivenessPhase | None:
        """The phase of a run whose last tick is at ``last_tick`` (virtual seconds), or None in backtest.

        The verdict falls between the last two ticks: the session ends at its last tick."""
        if mode == "backtest" or last_tick - tick_seconds <= BOUND:
            return None
        return cls(check_at=last_tick - min(tick_seconds / 2, 0.5), **parts)

    async def watch(self) -> None:
        """Run beside the sessions: switch faults off, wait out the bound, judge.  Returns early
        (judging nothing) if the sessions end before the verdict."""
        baseline = _tasks()
        await _sleep_until(self.check_at - self.bound)
        for injector in self.injectors:
            injector.switch_off()
        self.quiet_from = anyio.current_time()
        await _sleep_until(self.check_at)
        if any(self.controller.session(sid).finished.is_set() for sid in self.session_ids):
            return
        self.violations += self._tasks_alive(baseline)
        self.violations += await self._orders_converged()

    def _tasks_alive(self, baseline: dict[int, str]) -> list[Violation]:
        now = _tasks()
        gone = sorted(name for task_id, name in baseline.items() if task_id not in now)
        if not gone:
            return []
        return [Violation(
            "oracle.liveness-task-ended",
            f"{len(gone)} task(s) running when the sessions started ended before the sessions stopped",
            location=f"t={self.check_at:g}s, {self.bound:g} s after faults were switched off {self.location}",
            expected="listeners, sync loops and feeds run until stop (reconnect, retry; never return early)",
            seen=", ".join(gone[:4]) + (f" (+{len(gone) - 4} more)" if len(gone) > 4 else ""),
        )]

    async def _orders_converged(self) -> list[Violation]:
        local: dict[str, dict[str, Any]] = {}
        stuck: list[str] = []
        now = self.clock.now().timestamp()
        exchange = {o["externalOid"]: o for o in self.venue.facts()["orders"]} if self.venue is not None else None
        for sid in self.session_ids:
            manager = self.controller.session(sid).order_manager
            for order in await manager.get_all_orders() if manager is not None else []:
                oid = (order.get("metadata") or {}).get("external_oid")
                if oid:
                    local[oid] = order
                if order.get("status") == "NEW" and order.get("timestamp", now) <= now - self.bound \
                        and not _still_filling(exchange, oid):
                    stuck.append(f"{order['order_id']} ({order['symbol']} {order['side']}, "
                                 f"working since t={order['timestamp']})")
        found = []
        if stuck:
            found.append(Violation(
                "oracle.liveness-order-stuck", f"{len(stuck)} order(s) still working {self.bound:g} s after faults "
                "were switched off", location=f"t={now:g} {self.location}",
                expected=f"a market order fills (or is settled by a resync) within {self.bound:g} s",
                seen=_sample(stuck)))
        unknown = []
        for order in (exchange or {}).values():
            completed_at = order["updateTime"] / 1000
            if order["state"] != _COMPLETED or completed_at > now - self.bound:
                continue
            mine = local.get(order["externalOid"])
            if mine is not None and mine.get("status") != "FILLED":
                unknown.append(f"{mine['order_id']} ({order['externalOid']}): completed on the exchange at "
                               f"t={completed_at:g}, {mine.get('status')} locally")
        if unknown:
            found.append(Violation(
                "oracle.liveness-order-unknown", f"{len(unknown)} order(s) filled on the exchange are not known "
                f"as filled {self.bound:g} s later", location=f"t={now:g} {self.location}",
                expected=f"every completed order FILLED locally within the resync interval plus slack "
                         f"({RESYNC_INTERVAL:g} + {SLACK:g} s), faults off",
                seen=_sample(unknown)))
        return found


@asynccontextmanager
async def watching(phase: LivenessPhase | None) -> AsyncIterator[None]:
    """``async with watching(phase): <wait for the sessions>``: the phase runs beside the wait
    and is cancelled once the sessions have ended (a run without a phase just waits)."""
    async with anyio.create_task_group() as group:
        if phase is not None:
            group.start_soon(phase.watch)
        yield
        group.cancel_scope.cancel()


async def wal_applied(db: Any, *, location: str = "") -> list[Violation]:
    """After the stop: every acknowledged write becomes visible within ``WAL_BOUND``."""
    with anyio.move_on_after(WAL_BOUND) as scope:
        await db.wait_for_wal()
    if not scope.cancelled_caught:
        return []
    return [Violation(
        "oracle.liveness-wal", f"the database's WAL was not applied {WAL_BOUND:g} s after the system stopped",
        location=f"simulated database {location}", expected="every acknowledged write visible",
        seen="writes still pending")]


def _still_filling(exchange: dict[str, dict[str, Any]] | None, external_oid: str | None) -> bool:
    """A live order the exchange is still filling, tick by tick: a market order has no time limit
    there (it takes a share of each trade's volume until it is complete)."""
    there = exchange.get(external_oid or "") if exchange is not None else None
    return there is not None and there["state"] in _WORKING


def _tasks() -> dict[int, str]:
    """Running tasks by id, named as the runtime names them (the coroutine's qualified name)."""
    current = anyio.get_current_task().id
    return {task.id: task.name for task in anyio.get_running_tasks() if task.id != current}


async def _sleep_until(moment: float) -> None:
    delay = moment - anyio.current_time()
    if delay > 0:
        await anyio.sleep(delay)


def _sample(items: Iterable[str], limit: int = 3) -> str:
    items = list(items)
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
