"""The deterministic asyncio event loop.

A real :class:`asyncio.BaseEventLoop`, so asyncio and anyio code run on it unchanged.  Only
``time()`` and ``_run_once()`` differ from the stock loop (plus the I/O entry points,
which refuse):

* ``time()`` is virtual: it starts at 0 and, whenever nothing is ready, jumps to the next
  timer.  There is no selector, so there is nothing to wait for in real time.
* ``_run_once()`` runs the ready queue in an order given by a choice source.  Four modes:
  *fifo* (no choices: the stock loop's order, the fast path), *walk* (policy ``random``:
  at every step one handle is drawn among *all* ready ones, including those made ready
  by the steps before it, so a task can be held back for any number of steps; draw 0 is
  the head of the queue, i.e. fifo), *batch* (policy ``shuffle``: each ready batch,
  including timers falling due together, is permuted by a Fisher-Yates shuffle, so a task
  is reordered within its batch but never held back across batches) and *pct* (one handle
  per step, the highest-priority task first; see :mod:`sim.kernel.pct`).

Every task step is recorded for the trace as ``(task index, code, f_lasti, time)``; task names
are ``<coroutine qualname>#<n>`` with ``n`` counted per name within the run, never asyncio's
process-global ``Task-N``.
"""

from __future__ import annotations

import asyncio
import heapq
import re
from collections.abc import Callable, Coroutine
from typing import Any

from sim.kernel.choices import RecordingChoices
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import SimulationError
from sim.kernel.sites import caller_site, is_library, suspended_at
from sim.kernel.trace import RawStep

_Task = asyncio.Task
_INFINITE_PRIORITY = _INFINITY = float("inf")

_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5


class SimEventLoop(asyncio.BaseEventLoop):
    """An asyncio loop with virtual time and a seeded (or replayed) scheduling order."""

    def __init__(
        self,
        *,
        choices: RecordingChoices | None = None,
        pct: PCTPriorities | None = None,
        record: bool = True,
        max_steps: int | None = None,
        walk: bool = False,
        max_virtual_seconds: float | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        """``record=False`` keeps no per-step trace (the fast mode); ``max_steps`` bounds
        the handles run (task steps and plain callbacks); ``walk`` draws each step among
        all ready handles instead of shuffling whole batches."""
        super().__init__()
        self._time = 0.0
        self._shuffle_draws = choices.shuffle_draws if choices is not None and not walk else None
        self._walk_choose = choices.choose if choices is not None and walk else None
        self._walk_draw = choices.seeded_draw if choices is not None and walk else None
        self._walk_append = choices.record.append if choices is not None else None
        self._pct = pct
        self._pct_ready: list[tuple[float, int, asyncio.Handle, asyncio.Task[Any]]] = []
        self._pct_seq = 0
        self._record = record
        self.max_steps = max_steps
        self._jitter = jitter
        self.max_virtual_seconds = _INFINITY if max_virtual_seconds is None else max_virtual_seconds
        self.bound_hit = ""
        """Which bound stopped the run ("max_steps=N" or "max_virtual_seconds=T"), if any."""
        self._handles_run = 0
        self._timer_seq = 0
        self.names: list[str] = []
        self.task_index: dict[asyncio.Task[Any], int] = {}
        self._name_counts: dict[str, int] = {}
        self.raw: list[RawStep] = []
        self.idle = False
        self.step_limit_hit = False
        self.exception_contexts: list[dict[str, Any]] = []

    @property
    def handles_run(self) -> int:
        return self._handles_run

    # -- time ---------------------------------------------------------------------------

    def time(self) -> float:
        return self._time

    # -- tasks --------------------------------------------------------------------------

    def create_task(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None, context: Any = None) -> Any:
        task = super().create_task(coro, name=name, context=context)
        self._register(task)
        return task

    def _register(self, task: asyncio.Task[Any]) -> int:
        label = task_label(task.get_coro(), task.get_name())
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

    # -- callbacks ----------------------------------------------------------------------

    def call_soon(self, callback: Callable[..., object], *args: Any, context: Any = None) -> Any:
        """The stock ``call_soon`` without its two layers of Python calls: every task wake-up
        (a future's ``set_result``, a sleep's deadline) comes through here.  A closed loop and
        debug mode take the stock path, with its checks and source tracebacks."""
        if self._closed or self._debug:
            return super().call_soon(callback, *args, context=context)
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    # -- timers -------------------------------------------------------------------------

    def call_at(self, when: float, callback: Callable[..., object], *args: Any, context: Any = None) -> Any:
        """As the stock loop, but the heap holds ``(when, sequence, timer)`` tuples.

        Tuples compare in C, where ``TimerHandle.__lt__`` is a Python call per comparison
        (a third of the cost of a sleep-bound run), and the sequence number makes the
        order of timers due at the same instant their creation order.
        """
        self._check_closed()
        if self._jitter is not None and when > self._time:
            when += self._jitter()
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        self._timer_seq += 1
        heapq.heappush(self._scheduled, (when, self._timer_seq, timer))  # type: ignore[arg-type]
        timer._scheduled = True
        return timer

    def sleep_until(self, when: float, future: asyncio.Future[Any], result: Any) -> None:
        """Resolve ``future`` with ``result`` at virtual time ``when``: the timer behind
        :func:`virtual_sleep`, a bare heap entry instead of a TimerHandle and a callback."""
        if self._jitter is not None and when > self._time:
            when += self._jitter()
        self._timer_seq += 1
        heapq.heappush(self._scheduled, (when, self._timer_seq, future, result))  # type: ignore[arg-type]

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
            when = scheduled[0][0]
            if when == _INFINITY:  # only sleep_forever-style timers left: they never fire
                self.idle = True
                self._stopping = True
                return
            if when > self._time:
                if when > self.max_virtual_seconds:
                    self.step_limit_hit = True
                    self.bound_hit = f"max_virtual_seconds={self.max_virtual_seconds:g}"
                    self._stopping = True
                    return
                self._time = when
        now = self._time
        while scheduled and scheduled[0][0] <= now:
            entry = heapq.heappop(scheduled)
            if len(entry) == 3:
                entry[2]._scheduled = False
                ready.append(entry[2])
            elif not entry[2].done():
                entry[2].set_result(entry[3])
        if self._pct is not None:
            self._run_pct_steps()
        elif self._walk_choose is not None:
            self._run_walk_steps()
        elif self._shuffle_draws is None:
            self._run_fifo_batch()
        else:
            self._run_shuffled_batch()
        if self.max_steps is not None and self._handles_run > self.max_steps:
            self.step_limit_hit = True
            self.bound_hit = self.bound_hit or f"max_steps={self.max_steps}"
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
            for entry in scheduled:
                if len(entry) == 3 and entry[2]._cancelled:
                    entry[2]._scheduled = False
                else:
                    kept.append(entry)
            heapq.heapify(kept)
            self._scheduled = scheduled = kept
            self._timer_cancelled_count = 0
        while scheduled:
            entry = scheduled[0]
            if len(entry) == 3:
                if not entry[2]._cancelled:
                    break
                self._timer_cancelled_count -= 1
                entry[2]._scheduled = False
            elif not entry[2].done():
                break
            heapq.heappop(scheduled)

    def _run_fifo_batch(self) -> None:
        """The stock loop's order.  The hottest loop of the kernel: the step recording of
        :meth:`_record_step` is inlined here, and skipped entirely when there is no trace."""
        ready = self._ready
        count = len(ready)
        self._handles_run += count
        popleft = ready.popleft
        if not self._record:
            for _ in range(count):
                handle = popleft()
                if not handle._cancelled:
                    handle._run()
            return
        record = self.raw.append
        index_of = self.task_index.get
        now = self._time
        for _ in range(count):
            handle = popleft()
            if handle._cancelled:
                continue
            handle._run()
            owner = getattr(handle._callback, "__self__", None)
            if owner.__class__ is _Task:
                index = index_of(owner)
                if index is None:
                    index = self._register(owner)
                record((index, *suspended_at(owner.get_coro()), now))
            elif isinstance(owner, _Task):
                self._record_step(owner)

    def _run_walk_steps(self) -> None:
        """The random walk: as many steps as the batch had handles, each one drawn among
        everything ready *now* (the rest of the batch and whatever its steps made ready).

        Counting steps per batch (not running until the queue is empty) keeps the stock
        loop's rhythm of pulling due timers in between, so all-zero draws (always the head
        of the queue) are exactly the fifo order, and a shrunk schedule converges to fifo.
        A drawn handle ``i > 0`` trades places with the head, which is then popped: O(1) on
        the deque's ends, and the old head keeps waiting at ``i`` (held back further).
        """
        ready = self._ready
        count = len(ready)
        self._handles_run += count
        choose = self._walk_choose
        assert choose is not None
        draw = self._walk_draw
        append = self._walk_append
        popleft = ready.popleft
        record = self._record
        for _ in range(count):
            size = len(ready)
            if not size:
                break
            if size > 1:
                if draw is not None:
                    index = int(draw() * size)
                    append(index)  # type: ignore[misc]
                else:
                    index = choose(size)
                if index:
                    handle = ready[index]
                    ready[index] = ready[0]
                    popleft()
                else:
                    handle = popleft()
            else:
                handle = popleft()
            if handle._cancelled:
                continue
            handle._run()
            if record:
                owner = getattr(handle._callback, "__self__", None)
                if isinstance(owner, _Task):
                    self._record_step(owner)

    def _run_shuffled_batch(self) -> None:
        """A Fisher-Yates shuffle of the batch, one draw per position (draw 0 everywhere is
        fifo order), then the batch runs in that order.

        All draws of a batch are taken before its first handle runs: nothing else draws
        meanwhile, so the choices and the order are those of drawing each position just
        before running it, at one call per batch instead of one per handle.
        """
        ready = self._ready
        self._handles_run += len(ready)  # counted like the fifo path: dequeued handles
        batch = [handle for handle in ready if not handle._cancelled]
        ready.clear()
        shuffle_draws = self._shuffle_draws
        assert shuffle_draws is not None
        for i, j in enumerate(shuffle_draws(len(batch))):
            if j:
                batch[i], batch[i + j] = batch[i + j], batch[i]
        # Popped from the end, so each handle is freed as soon as it has run (as in the fifo
        # path) and the handles the batch schedules reuse its memory while it is cache-warm.
        batch.reverse()
        pop = batch.pop
        if not self._record:
            while batch:
                handle = pop()
                if not handle._cancelled:
                    handle._run()
            return
        while batch:
            handle = pop()
            if handle._cancelled:
                continue
            handle._run()
            owner = getattr(handle._callback, "__self__", None)
            if isinstance(owner, _Task):
                self._record_step(owner)

    def _run_pct_steps(self) -> None:
        """PCT steps.  In each, plain callbacks that were ready run first, in fifo order
        (they are plumbing: future callbacks, anyio's cancellation retries); then exactly one
        task step, the highest-priority one.  Callbacks scheduled meanwhile wait for the
        next step, so a callback that re-schedules itself cannot starve the tasks.

        Steps repeat here as long as the next :meth:`_run_once` would only take another
        one (something is ready, no timer is due, no stop, within ``max_steps``): the same
        steps, without the loop's per-iteration overhead on every task switch.
        """
        pct = self._pct
        assert pct is not None
        heap = self._pct_ready
        ready = self._ready
        scheduled = self._scheduled
        now = self._time
        max_steps = self.max_steps
        record = self._record
        priority_of = pct.priority.get
        push, pop = heapq.heappush, heapq.heappop
        while True:
            callbacks = []
            while ready:
                handle = ready.popleft()
                owner = getattr(handle._callback, "__self__", None)
                if isinstance(owner, _Task):
                    self._pct_seq += 1
                    priority = priority_of(owner)
                    if priority is None:
                        priority = pct.of(owner)
                    push(heap, (-priority, self._pct_seq, handle, owner))
                else:
                    callbacks.append(handle)
            if callbacks:
                for handle in callbacks:
                    if not handle._cancelled:
                        handle._run()
                self._handles_run += len(callbacks)
            contended = len(heap) > 1
            while heap:
                _, _, handle, owner = pop(heap)
                if handle._cancelled:
                    continue
                self._handles_run += 1
                handle._run()
                if record:
                    self._record_step(owner)
                if contended:
                    pct.contended_step(owner)
                break
            if (
                self._stopping
                or not (ready or heap)
                or (scheduled and scheduled[0][0] <= now)
                or (max_steps is not None and self._handles_run > max_steps)
            ):
                return

    def _record_step(self, task: asyncio.Task[Any]) -> None:
        index = self.task_index.get(task)
        if index is None:
            index = self._register(task)
        self.raw.append((index, *suspended_at(task.get_coro()), self._time))

    # -- what a simulated run must not do -----------------------------------------------

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Keep every loop-level error for the detectors instead of logging it."""
        self.exception_contexts.append(context)

    def _write_to_self(self) -> None:
        """``call_soon_threadsafe`` wakes a selector; there is none (and no other thread)."""

    def _process_events(self, event_list: Any) -> None:
        """No selector, so no events."""


_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")


_stock_sleep = asyncio.sleep
_get_running_loop = asyncio.events._get_running_loop
_Future = asyncio.Future


async def virtual_sleep(delay: float, result: Any = None) -> Any:
    """``asyncio.sleep`` for the duration of a run (anyio's asyncio backend calls it too).

    Same contract, about twice as cheap on :class:`SimEventLoop`: no TimerHandle, no
    callback, no cancel in ``finally``; the loop resolves the future when virtual time
    reaches the deadline.  Elsewhere, or for ``delay <= 0``, it is the stock function.
    """
    loop = _get_running_loop()
    if delay <= 0 or not isinstance(loop, SimEventLoop):
        return await _stock_sleep(delay, result)
    future = _Future(loop=loop)  # what ``loop.create_future()`` makes, one Python call less
    loop.sleep_until(loop._time + delay, future, result)
    return await future


def task_label(coro: Any, name: str | None = None) -> str:
    """A task's trace label: its explicit name if it was given one, else the qualname of
    the user coroutine it runs.

    Default names are not labels: asyncio's ``Task-N`` is a process-global counter, and
    anyio/trio default to ``module.qualname`` of the function.  anyio (4.16+) starts every
    task as ``TaskHandle._run_coro`` wrapping the user's coroutine in ``self._coro``; look
    through such plumbing wrappers to the real one.
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
    qualname = getattr(coro, "__qualname__", None) or type(coro).__name__
    if name and not name.endswith(qualname) and not _DEFAULT_TASK_NAME.fullmatch(name):
        return name
    return qualname


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
