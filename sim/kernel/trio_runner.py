"""The trio kernel: ``trio.run`` made deterministic.

* Time: ``trio.testing.MockClock(autojump_threshold=0)``: when every task is blocked the
  clock jumps to the next deadline, so sleeping costs no wall time.
* Order: trio shuffles each batch of runnable tasks with the module-global ``_r`` when
  ``_ALLOW_DETERMINISTIC_SCHEDULING`` is set (the hook Hypothesis' trio plugin uses).  We
  set the flag and swap ``_r`` for a :class:`~sim.kernel.trio_scheduler.ChoiceScheduler`
  that orders the batch by our choice source, or keeps one task of it (random walk, pct),
  so every policy and seeded, replayed and Hypothesis-driven runs all work here too.
  Both are private: ``trio>=0.25,<0.36`` is pinned and ``tests/kernel`` checks they exist.
* Trace: a trio ``Instrument`` records every task step.
* Deadlock: trio would spin forever (autojump has no deadline to jump to); the instrument
  notices "nothing runnable, no deadline" before each I/O wait and cancels main.

Gaps against the asyncio kernel: kernel.leaked-task and kernel.unretrieved-exception cannot happen (structured
concurrency: every task belongs to a nursery that main awaited).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio._core._run as trio_run
from trio.abc import Instrument
from trio.testing import MockClock

from sim.kernel.asyncio_loop import task_label
from sim.kernel.choices import ChoiceSource
from sim.kernel.livelock import WINDOW, livelock_violation
from sim.kernel.lockdep import LockDep
from sim.kernel.outcome import KernelOutcome
from sim.kernel.patches import Patches
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import Deadlock, SimulationError, StepLimitExceeded
from sim.kernel.sandbox import forbid_real_io
from sim.kernel.sites import format_suspension, is_library, short_path, suspended_at
from sim.kernel.trace import RawStep
from sim.kernel.trio_scheduler import ChoiceScheduler
from sim.kernel.virtual_stdlib import REAL_PERF_COUNTER
from simwire.violation import Violation


def deterministic_hooks_present() -> bool:
    """True if this trio still has the private hooks the trio kernel relies on."""
    runner_context = getattr(trio_run, "GLOBAL_RUN_CONTEXT", None)
    return (
        isinstance(getattr(trio_run, "_r", None), random.Random)
        and hasattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING")
        and runner_context is not None  # the walk puts held-back tasks back on runner.runq
        and hasattr(MockClock(), "_real_clock")  # kept real under a virtualized stdlib
    )


class _Recorder(Instrument):
    """Names tasks deterministically, records steps, and spots deadlocks."""

    def __init__(self, clock: MockClock, record: bool, max_steps: int | None,
                 max_virtual_seconds: float | None = None) -> None:
        self.clock = clock
        self.record = record
        self.steps = 0
        self.max_steps = max_steps
        self.max_virtual_seconds = math.inf if max_virtual_seconds is None else max_virtual_seconds
        self.bound = ""
        self.bound_at = 0.0
        self.window_start = 0
        self.window_end = 0
        self.window_stop = 0
        self.names: list[str] = []
        self.index: dict[Any, int] = {}
        self.counts: dict[str, int] = {}
        self.raw: list[RawStep] = []
        self.main_scope: trio.CancelScope | None = None
        self.main_task: Any = None
        self.lockdep: LockDep | None = None
        self.deadlock: Violation | None = None
        self.step_limit_hit = False

    def name(self, task: Any) -> str:
        index = self.index.get(task)
        if index is None:
            label = task_label(task.coro, task.name)
            count = self.counts[label] = self.counts.get(label, 0) + 1
            index = self.index[task] = len(self.names)
            self.names.append(f"{label}#{count}")
        return self.names[index]

    def task_spawned(self, task: Any) -> None:
        self.name(task)

    def after_task_step(self, task: Any) -> None:
        self.steps += 1
        if self.record:
            index = self.index.get(task)
            if index is None:
                self.name(task)
                index = self.index[task]
            self.raw.append((index, *suspended_at(task.coro), self.clock.current_time()))
        if self.step_limit_hit:
            if self.steps >= self.window_end and not self.window_stop:
                self.window_stop = len(self.raw)  # the cancellation's own steps are not looping
                self._stop_main()
        elif self.max_steps is not None and self.steps > self.max_steps:
            self._hit(f"max_steps={self.max_steps}")

    def _hit(self, bound: str) -> None:
        """A bound is hit: observe a window of steps with the trace on, then stop main."""
        self.step_limit_hit = True
        self.bound = bound
        self.bound_at = self.clock.current_time()
        self.record = True
        self.window_start = len(self.raw)
        self.window_end = self.steps + WINDOW

    def before_io_wait(self, timeout: float) -> None:
        if self.deadlock is not None or self.main_scope is None:
            return
        if not self.step_limit_hit and self.clock.current_time() > self.max_virtual_seconds:
            self._hit(f"max_virtual_seconds={self.max_virtual_seconds:g}")
        statistics = trio.lowlevel.current_statistics()
        if statistics.tasks_runnable == 0 and math.isinf(statistics.seconds_to_next_deadline):
            self.deadlock = _deadlock(self, _tasks_under(self.main_task), self.clock.current_time())
            self._stop_main()

    def _stop_main(self) -> None:
        if self.main_scope is not None:
            self.main_scope.cancel()


def _tasks_under(main_task: Any) -> list[Any]:
    """``main_task`` and every task in its nurseries, recursively (trio's own system
    tasks live elsewhere and are left out)."""
    found = [main_task]
    stack = list(main_task.child_nurseries)
    while stack:
        nursery = stack.pop()
        for task in sorted(nursery.child_tasks, key=lambda t: t._counter):
            found.append(task)
            stack.extend(task.child_nurseries)
    return found


def run_on_trio(
    main: Callable[[], Awaitable[Any]],
    *,
    choices: ChoiceSource | None,
    record: bool,
    lockdep: LockDep | None,
    max_steps: int | None,
    mode: str = "batch",
    pct: PCTPriorities | None = None,
    max_virtual_seconds: float | None = None,
) -> KernelOutcome:
    """Run ``main()`` under trio with the deterministic hooks; never raises ``main``'s error."""
    clock = MockClock(autojump_threshold=0)
    # MockClock reads time.perf_counter at construction; under a virtualized stdlib that is
    # the virtual clock, which reads this MockClock: give it the real one (rate 0 ignores it)
    clock._real_clock = REAL_PERF_COUNTER
    recorder = _Recorder(clock, record, max_steps, max_virtual_seconds)
    outcome = KernelOutcome(names=recorder.names)
    if lockdep is not None:
        lockdep.bind(trio.lowlevel.current_task, recorder.name)

    guards: list[Patches] = []

    async def root() -> None:
        io_guard = forbid_real_io()  # only now: trio.run itself opens a wake-up socketpair
        guards.append(io_guard)
        recorder.main_task = trio.lowlevel.current_task()
        try:
            with trio.CancelScope() as scope:
                recorder.main_scope = scope
                outcome.value = await main()
        except BaseException as error:  # captured for RunResult.error, by contract
            outcome.error = _explain_asyncio_on_trio(error)
        finally:
            outcome.virtual_seconds = clock.current_time()
            recorder.main_scope = None
            io_guard.restore()

    root.__qualname__ = getattr(main, "__qualname__", "main")  # the trace names main after itself
    recorder.lockdep = lockdep
    patches = Patches()
    patches.set(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True)
    scheduler = ChoiceScheduler(choices, mode=mode, pct=pct)
    patches.set(trio_run, "_r", scheduler)
    try:
        trio.run(root, clock=clock, instruments=[recorder])
    finally:
        for guard in guards:
            guard.restore()  # idempotent; matters when trio itself failed before root's finally
        patches.restore()
    if scheduler.failure is not None:
        raise scheduler.failure
    outcome.raw = recorder.raw
    outcome.steps = recorder.steps
    outcome.contended_steps = pct.contended_steps if pct is not None else 0
    if recorder.deadlock is not None:
        violation = recorder.deadlock
        outcome.violations.append(violation)
        outcome.error = Deadlock(f"{violation.message}\n{violation.seen}")
        outcome.value = None
    elif recorder.step_limit_hit:
        livelock = livelock_violation(recorder.names, recorder.raw[recorder.window_start:recorder.window_stop or None],
                                      bound=recorder.bound, now=recorder.bound_at)
        outcome.violations.append(livelock)
        outcome.error = StepLimitExceeded(livelock.message)
        outcome.value = None
    return outcome


def _explain_asyncio_on_trio(error: BaseException) -> BaseException:
    """asyncio called inside a trio run fails with a bare "no running event loop"; name the
    cause and the call site instead (the error itself stays attached as ``__cause__``)."""
    found = _asyncio_outside_its_loop(error)
    if found is None:
        return error
    explained = SimulationError(
        f"asyncio used on the trio kernel at {_first_user_frame(found)}: asyncio needs its own event loop, "
        f"which a trio run does not have (RuntimeError: {found}); run this program with kernel='asyncio', "
        f"or write it against anyio, which runs on both kernels"
    )
    explained.__cause__ = error
    return explained


def _asyncio_outside_its_loop(error: BaseException) -> BaseException | None:
    if isinstance(error, RuntimeError) and "no running event loop" in str(error):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _asyncio_outside_its_loop(inner)
            if found is not None:
                return found
    return None


def _first_user_frame(error: BaseException) -> str:
    """The innermost traceback frame outside asyncio, anyio, trio and the kernel."""
    site = "an unknown site"
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not is_library(code):
            site = f"{short_path(code.co_filename)}:{tb.tb_lineno} {code.co_qualname}"
        tb = tb.tb_next
    return site


def _deadlock(recorder: _Recorder, blocked: list[Any], now: float) -> Violation:
    lockdep = recorder.lockdep
    tasks = []
    lines = []
    for task in blocked:
        name = recorder.name(task)
        site = format_suspension(*suspended_at(task.coro))
        if lockdep is not None and task in lockdep.waiting:
            lock = lockdep.waiting[task]
            holder = lockdep.holder_of(lock)
            waits = f"lock {lock} (held by {recorder.name(holder) if holder is not None else 'no task'})"
        else:
            frames = [frame for frame, _ in task.iter_await_frames()
                      if f"trio{os.sep}_core{os.sep}" not in frame.f_code.co_filename]
            inner = frames[-1].f_code if frames else None
            waits = f"a wake-up inside {inner.co_qualname} ({short_path(inner.co_filename)})" if inner else "nothing"
        stack = [f"{short_path(f.f_code.co_filename)}:{line} {f.f_code.co_qualname}"
                 for f, line in task.iter_await_frames()]
        tasks.append({"task": name, "site": site, "waits_for": waits, "stack": stack})
        lines.append(f"{name} at {site} waits for {waits}")
    return Violation(
        rule="kernel.deadlock",
        message=f"deadlock at t={now:g}s: {len(tasks)} task(s) blocked, nothing runnable, no deadline pending",
        location=tasks[0]["site"] if tasks else "",
        expected="main returns, or some task is runnable or waiting on a deadline",
        seen="; ".join(lines),
        details={"tasks": tasks},
    )
