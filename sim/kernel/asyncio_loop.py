"""The deterministic asyncio event loop.

A real :class:`asyncio.BaseEventLoop`, so asyncio and anyio code run on it unchanged.  Only
``time()`` and ``_run_once()`` differ from the stock loop (plus the I/O entry points,
which refuse):

* ``time()`` is virtual: it starts at 0 and, whenever nothing is ready, jumps to the next
  timer.  There is no selector, so there is nothing to wait for in real time.
* ``_run_once()`` runs the ready queue in an order given by a choice source.  Three modes:
  *fifo* (no choices: the stock loop's order, the fast path), *batch* (each ready batch,
  including timers falling due together, is permuted by a Fisher-Yates shuffle whose draws
  come from the choice source, so draw 0 keeps fifo order) and *pct* (one handle per
  step, the highest-priority task first; see :mod:`sim.kernel.pct`).

Every task step is recorded for the trace as ``(task index, code, line, time)``; task names
are ``<coroutine qualname>#<n>`` with ``n`` counted per name within the run, never asyncio's
process-global ``Task-N``.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Coroutine
from typing import Any

from sim.kernel.choices import ChoiceSource
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import SimulationError
from sim.kernel.sites import caller_site, is_library, suspended_at
from sim.kernel.trace import RawStep

_Task = asyncio.Task
_INFINITE_PRIORITY = float("inf")

_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5


class SimEventLoop(asyncio.BaseEventLoop):
    """An asyncio loop with virtual time and a seeded (or replayed) scheduling order."""

    def __init__(
        self,
        *,
        choices: ChoiceSource | None = None,
        pct: PCTPriorities | None = None,
        capture_sites: bool = True,
        max_steps: int | None = None,
    ) -> None:
        super().__init__()
        self._time = 0.0
        self._choose = choices.choose if choices is not None else None
        self._pct = pct
        self._pct_ready: list[tuple[float, int, asyncio.Handle]] = []
        self._pct_seq = 0
        self._capture_sites = capture_sites
        self._max_steps = max_steps
        self.names: list[str] = []
        self.task_index: dict[asyncio.Task[Any], int] = {}
        self._name_counts: dict[str, int] = {}
        self.raw: list[RawStep] = []
        self.idle = False
        self.step_limit_hit = False
        self.exception_contexts: list[dict[str, Any]] = []

    # -- time ---------------------------------------------------------------------------

    def time(self) -> float:
        return self._time

    # -- tasks --------------------------------------------------------------------------

    def create_task(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None, context: Any = None) -> Any:
        task = super().create_task(coro, name=name, context=context)
        self._register(task)
        return task

    def _register(self, task: asyncio.Task[Any]) -> int:
        label = task_label(task.get_coro())
        count = self._name_counts.get(label, 0) + 1
        self._name_counts[label] = count
        index = len(self.names)
        self.names.append(f"{label}#{count}")
        self.task_index[task] = index
        return index

    def task_name(self, task: asyncio.Task[Any]) -> str:
        index = self.task_index.get(task)
        if index is None:
            index = self._register(task)
        return self.names[index]

    # -- the scheduler ------------------------------------------------------------------

    def _run_once(self) -> None:
        ready = self._ready
        scheduled = self._scheduled
        self._drop_cancelled_timers()
        if not ready and not self._pct_ready:
            if not scheduled:
                # Nothing can ever become ready: no I/O exists in a simulated run.
                self.idle = True
                self._stopping = True
                return
            when = scheduled[0]._when
            if when > self._time:
                self._time = when
        now = self._time
        while scheduled and scheduled[0]._when <= now:
            handle = heapq.heappop(scheduled)
            handle._scheduled = False
            ready.append(handle)
        if self._pct is not None:
            self._run_pct_step()
        elif self._choose is None:
            self._run_fifo_batch()
        else:
            self._run_shuffled_batch()
        if self._max_steps is not None and len(self.raw) > self._max_steps:
            self.step_limit_hit = True
            self._stopping = True

    def _drop_cancelled_timers(self) -> None:
        """The stock loop's housekeeping: drop cancelled timers (at the head, or all of them
        when they are the majority) so they neither block a time jump nor leak memory."""
        scheduled = self._scheduled
        if (
            len(scheduled) > _MIN_SCHEDULED_TIMER_HANDLES
            and self._timer_cancelled_count / len(scheduled) > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
        ):
            kept = []
            for handle in scheduled:
                if handle._cancelled:
                    handle._scheduled = False
                else:
                    kept.append(handle)
            heapq.heapify(kept)
            self._scheduled = scheduled = kept
            self._timer_cancelled_count = 0
        while scheduled and scheduled[0]._cancelled:
            self._timer_cancelled_count -= 1
            heapq.heappop(scheduled)._scheduled = False

    def _run_fifo_batch(self) -> None:
        ready = self._ready
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle._cancelled:
                self._step(handle)

    def _run_shuffled_batch(self) -> None:
        ready = self._ready
        batch = [handle for handle in ready if not handle._cancelled]
        ready.clear()
        choose = self._choose
        assert choose is not None
        size = len(batch)
        for i in range(size):
            left = size - i
            if left > 1:
                j = choose(left)
                if j:
                    batch[i], batch[i + j] = batch[i + j], batch[i]
            handle = batch[i]
            if not handle._cancelled:
                self._step(handle)

    def _run_pct_step(self) -> None:
        pct = self._pct
        assert pct is not None
        heap = self._pct_ready
        ready = self._ready
        while ready:
            handle = ready.popleft()
            owner = getattr(handle._callback, "__self__", None)
            priority = pct.of(owner) if isinstance(owner, _Task) else _INFINITE_PRIORITY
            self._pct_seq += 1
            heapq.heappush(heap, (-priority, self._pct_seq, handle))
        contended = len(heap) > 1
        while heap:
            handle = heapq.heappop(heap)[2]
            if handle._cancelled:
                continue
            owner = self._step(handle)
            if contended and owner is not None:
                pct.contended_step(owner)
            return

    def _step(self, handle: asyncio.Handle) -> asyncio.Task[Any] | None:
        """Run one handle; if it was a task step, record it in the trace."""
        handle._run()
        owner = getattr(handle._callback, "__self__", None)
        if not isinstance(owner, _Task):
            return None
        index = self.task_index.get(owner)
        if index is None:
            index = self._register(owner)
        if self._capture_sites:
            code, line = suspended_at(owner.get_coro())
            self.raw.append((index, code, line, self._time))
        else:
            self.raw.append((index, None, 0, self._time))
        return owner

    # -- what a simulated run must not do -----------------------------------------------

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Keep every loop-level error for the detectors instead of logging it."""
        self.exception_contexts.append(context)

    def _write_to_self(self) -> None:
        """``call_soon_threadsafe`` wakes a selector; there is none (and no other thread)."""

    def _process_events(self, event_list: Any) -> None:
        """No selector, so no events."""


def task_label(coro: Any) -> str:
    """The qualname of the user coroutine a task runs.

    anyio (4.16+) starts every task as ``TaskHandle._run_coro`` wrapping the user's
    coroutine in ``self._coro``; look through such plumbing wrappers to the real one.
    """
    for _ in range(3):
        code = getattr(coro, "cr_code", None)
        if code is None or not is_library(code):
            break
        frame = coro.cr_frame
        inner = getattr(frame.f_locals.get("self"), "_coro", None) if frame is not None else None
        if inner is None:
            break
        coro = inner
    return getattr(coro, "__qualname__", None) or type(coro).__name__


def _forbidden(name: str) -> Callable[..., Any]:
    def refuse(self: SimEventLoop, *args: Any, **kwargs: Any) -> Any:
        raise SimulationError(
            f"loop.{name}() called at {caller_site()}: real I/O, threads and executors are not "
            f"allowed in a simulated run (inject a simulated port instead)"
        )

    refuse.__name__ = name
    refuse.__doc__ = f"Refuses: ``{name}`` would do real I/O or use a thread."
    return refuse


for _name in (
    "run_in_executor", "getaddrinfo", "getnameinfo", "create_connection", "create_server",
    "create_datagram_endpoint", "create_unix_connection", "create_unix_server", "connect_accepted_socket",
    "connect_read_pipe", "connect_write_pipe", "subprocess_exec", "subprocess_shell", "add_reader",
    "add_writer", "sock_recv", "sock_recv_into", "sock_recvfrom", "sock_sendall", "sock_sendto",
    "sock_connect", "sock_accept", "sock_sendfile", "sendfile", "start_tls", "add_signal_handler",
):
    setattr(SimEventLoop, _name, _forbidden(_name))
del _name
