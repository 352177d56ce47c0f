"""The trio kernel: ``trio.run`` made deterministic.

* Time: ``trio.testing.MockClock(autojump_threshold=0)``: when every task is blocked the
  clock jumps to the next deadline, so sleeping costs no wall time.
* Order: trio shuffles each batch of runnable tasks with the module-global ``_r`` when
  ``_ALLOW_DETERMINISTIC_SCHEDULING`` is set (the hook Hypothesis' trio plugin uses).  We
  set the flag and swap ``_r`` for a :class:`random.Random` whose ``shuffle`` draws from our
  choice source, so fifo, seeded, replayed and Hypothesis-driven runs all work here too.
  Both are private: ``trio>=0.25,<0.36`` is pinned and ``tests/kernel`` checks they exist.
* Trace: a trio ``Instrument`` records every task step.
* Deadlock: trio would spin forever (autojump has no deadline to jump to); the instrument
  notices "nothing runnable, no deadline" before each I/O wait and cancels main.

Gaps against the asyncio kernel: no ``pct`` (trio runs whole batches, not one task per
step); kernel.leaked-task and kernel.unretrieved-exception cannot happen (structured
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
from sim.kernel.lockdep import LockDep
from sim.kernel.outcome import KernelOutcome
from sim.kernel.patches import Patches
from sim.kernel.result import Deadlock, StepLimitExceeded
from sim.kernel.sandbox import forbid_real_io
from sim.kernel.sites import format_suspension, short_path, suspended_at
from sim.kernel.trace import RawStep
from simwire.violation import Violation


def deterministic_hooks_present() -> bool:
    """True if this trio still has the private hooks the trio kernel relies on."""
    return isinstance(getattr(trio_run, "_r", None), random.Random) and hasattr(
        trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING"
    )


class _ChoiceShuffle(random.Random):
    """trio's ``_r``: ``shuffle`` orders a batch by our choices (draw 0 keeps creation
    order).  trio pops tasks from the *end* of the batch, hence the final reverse."""

    def __init__(self, choices: ChoiceSource | None) -> None:
        super().__init__(0)
        self._choose = choices.choose if choices is not None else None

    def shuffle(self, x: list[Any]) -> None:  # type: ignore[override]
        choose = self._choose
        if choose is not None:
            size = len(x)
            for i in range(size - 1):
                j = choose(size - i)
                if j:
                    x[i], x[i + j] = x[i + j], x[i]
        x.reverse()


class _Recorder(Instrument):
    """Names tasks deterministically, records steps, and spots deadlocks."""

    def __init__(self, clock: MockClock, record: bool, max_steps: int | None) -> None:
        self.clock = clock
        self.record = record
        self.steps = 0
        self.max_steps = max_steps
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
        if self.max_steps is not None and self.steps > self.max_steps and not self.step_limit_hit:
            self.step_limit_hit = True
            self._stop_main()

    def before_io_wait(self, timeout: float) -> None:
        if self.deadlock is not None or self.main_scope is None:
            return
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
) -> KernelOutcome:
    """Run ``main()`` under trio with the deterministic hooks; never raises ``main``'s error."""
    clock = MockClock(autojump_threshold=0)
    recorder = _Recorder(clock, record, max_steps)
    outcome = KernelOutcome(names=recorder.names)
    if lockdep is not None:
        lockdep.bind(trio.lowlevel.current_task, recorder.name)

    async def root() -> None:
        io_guard = forbid_real_io()  # only now: trio.run itself opens a wake-up socketpair
        recorder.main_task = trio.lowlevel.current_task()
        try:
            with trio.CancelScope() as scope:
                recorder.main_scope = scope
                outcome.value = await main()
        except BaseException as error:  # captured for RunResult.error, by contract
            outcome.error = error
        finally:
            outcome.virtual_seconds = clock.current_time()
            recorder.main_scope = None
            io_guard.restore()

    root.__qualname__ = getattr(main, "__qualname__", "main")  # the trace names main after itself
    recorder.lockdep = lockdep
    patches = Patches()
    patches.set(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING", True)
    patches.set(trio_run, "_r", _ChoiceShuffle(choices))
    try:
        trio.run(root, clock=clock, instruments=[recorder])
    finally:
        patches.restore()
    outcome.raw = recorder.raw
    outcome.steps = recorder.steps
    if recorder.deadlock is not None:
        violation = recorder.deadlock
        outcome.violations.append(violation)
        outcome.error = Deadlock(f"{violation.message}\n{violation.seen}")
        outcome.value = None
    elif recorder.step_limit_hit:
        outcome.error = StepLimitExceeded(f"run exceeded max_steps={max_steps} at t={outcome.virtual_seconds:g}s")
        outcome.value = None
    return outcome


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
