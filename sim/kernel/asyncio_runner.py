"""Runs one coroutine function on :class:`~sim.kernel.asyncio_loop.SimEventLoop` and
applies the detectors that need the loop: deadlock, leaked tasks, unretrieved exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sim.kernel.asyncio_loop import SimEventLoop, virtual_sleep
from sim.kernel.choices import ChoiceSource
from sim.kernel.livelock import WINDOW, livelock_violation
from sim.kernel.lockdep import LockDep
from sim.kernel.outcome import KernelOutcome
from sim.kernel.patches import Patches
from sim.kernel.pct import PCTPriorities
from sim.kernel.result import Deadlock, StepLimitExceeded
from sim.kernel.sites import format_suspension, short_path, suspended_at
from simwire.violation import Violation

CLEANUP_ROUNDS = 3
"""After the verdict, pending tasks are cancelled and the loop run to idle this many times."""

CLEANUP_BUDGET = 100_000
"""Handles the cleanup may run before giving up on tasks that refuse to be cancelled."""


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def run_on_asyncio(
    main: Callable[[], Awaitable[Any]],
    *,
    choices: ChoiceSource | None,
    pct: PCTPriorities | None,
    record: bool,
    lockdep: LockDep | None,
    max_steps: int | None,
    walk: bool = False,
    max_virtual_seconds: float | None = None,
    jitter: Callable[[], float] | None = None,
) -> tuple[KernelOutcome, SimEventLoop]:
    """Run ``main()`` to completion, deadlock or a bound; never raises ``main``'s error."""
    loop = SimEventLoop(choices=choices, pct=pct, record=record, max_steps=max_steps, walk=walk,
                        max_virtual_seconds=max_virtual_seconds, jitter=jitter)
    outcome = KernelOutcome(names=loop.names)
    patches = _use_virtual_sleep()
    _order_cancellation(patches)
    if lockdep is not None:
        lockdep.bind(asyncio.current_task, loop.task_name)
    awaitable = main()
    root = loop.create_task(awaitable if asyncio.iscoroutine(awaitable) else _await(awaitable))
    root.add_done_callback(lambda _: loop.stop())
    try:
        loop.run_forever()
        livelock = _observe_livelock(loop, root) if loop.step_limit_hit and not root.done() else None
        outcome.raw = loop.raw[:]
        outcome.steps = loop.handles_run
        outcome.virtual_seconds = loop.time()
        pending = [task for task in loop.task_index if not task.done() and task is not root]
        if root.done():
            if root.cancelled():
                outcome.error = asyncio.CancelledError("main was cancelled")
            elif root.exception() is not None:
                outcome.error = root.exception()
            else:
                outcome.value = root.result()
            outcome.violations += [_leaked(loop, task) for task in pending]
        elif livelock is not None:
            outcome.violations.append(livelock)
            outcome.error = StepLimitExceeded(f"{livelock.message}; main is suspended at {_site(root)}")
        else:
            blocked = [root, *pending]
            violation = _deadlock(loop, blocked, lockdep)
            outcome.violations.append(violation)
            outcome.error = Deadlock(f"{violation.message}\n{violation.seen}")
        _cancel_and_drain(loop)
        outcome.violations += _loop_errors(loop, root)
        outcome.contended_steps = pct.contended_steps if pct is not None else 0
    finally:
        patches.restore()
        loop.close()
    return outcome, loop


def _observe_livelock(loop: SimEventLoop, root: asyncio.Task[Any]) -> Violation:
    """A bound was hit: run :data:`~sim.kernel.livelock.WINDOW` more steps with the trace on
    and name the tasks that stepped in them."""
    bound, now = loop.bound_hit, loop.time()
    mark = len(loop.raw)
    loop._record = True
    loop.step_limit_hit = False
    loop.max_virtual_seconds = float("inf")
    loop.max_steps = loop.handles_run + WINDOW
    loop.run_forever()
    window = loop.raw[mark:]
    loop.step_limit_hit = True
    return livelock_violation(loop.names, window, bound=bound, now=now)


def _use_virtual_sleep() -> Patches:
    import anyio._backends._asyncio as anyio_asyncio

    patches = Patches()
    for module in (asyncio, asyncio.tasks, anyio_asyncio):
        patches.set(module, "sleep", virtual_sleep)
    return patches


class _OrderedSet(dict):  # type: ignore[type-arg]
    """The ``set`` API the cancellation code uses (``add``, ``discard``, ``remove``, ``in``,
    ``len``, iteration), iterating in insertion order instead of hash order."""

    __slots__ = ()

    def add(self, item: Any) -> None:
        self[item] = None

    def discard(self, item: Any) -> None:
        self.pop(item, None)

    def remove(self, item: Any) -> None:
        del self[item]


def _order_cancellation(patches: Patches) -> None:
    """Make cancellation deliver in a reproducible order for the duration of a run.

    anyio's ``CancelScope`` keeps its tasks and child scopes, and ``asyncio.TaskGroup`` its
    tasks, in ``set``s and cancels them by iterating those: in hash order, i.e. by memory
    address.  Each ``task.cancel()`` queues the task's wakeup, so the ready queue (which the
    walk's draws index, and fifo runs in order) would differ from one process, or one run,
    to the next, and a recorded schedule would not replay.  Scopes and groups created
    during the run get insertion-ordered sets instead.
    """
    import asyncio.taskgroups as taskgroups

    import anyio._backends._asyncio as anyio_asyncio

    for cls, names in ((anyio_asyncio.CancelScope, ("_child_scopes", "_tasks")), (taskgroups.TaskGroup, ("_tasks",))):
        original = cls.__init__

        def __init__(self: Any, *args: Any, _original: Any = original, _names: Any = names, **kwargs: Any) -> None:
            _original(self, *args, **kwargs)
            for name in _names:
                current = getattr(self, name, None)
                if type(current) is set:
                    setattr(self, name, _OrderedSet.fromkeys(current))

        patches.set(cls, "__init__", __init__)


def _site(task: asyncio.Task[Any]) -> str:
    return format_suspension(*suspended_at(task.get_coro()))


def _stack(task: asyncio.Task[Any]) -> list[str]:
    return [f"{short_path(f.f_code.co_filename)}:{f.f_lineno} {f.f_code.co_qualname}" for f in _frames(task)]


def _frames(task: asyncio.Task[Any]) -> list[Any]:
    """The whole await chain, outermost first (``Task.get_stack`` stops at the task's own
    coroutine; we follow ``cr_await`` into the library frames, where the wait really is)."""
    frames = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def _waits_for(task: asyncio.Task[Any], loop: SimEventLoop, lockdep: LockDep | None) -> str:
    if lockdep is not None and task in lockdep.waiting:
        lock = lockdep.waiting[task]
        holder = lockdep.holder_of(lock)
        held_by = loop.task_name(holder) if holder is not None else "no task"
        return f"lock {lock} (held by {held_by})"
    waiter = getattr(task, "_fut_waiter", None)
    if isinstance(waiter, asyncio.Task):
        return f"task {loop.task_name(waiter)}"
    frames = _frames(task)
    if frames:
        inner = frames[-1].f_code
        return f"a future inside {inner.co_qualname} ({short_path(inner.co_filename)})"
    return "nothing (not started)"


def _deadlock(loop: SimEventLoop, blocked: list[asyncio.Task[Any]], lockdep: LockDep | None) -> Violation:
    lines = []
    tasks = []
    for task in blocked:
        name = loop.task_name(task)
        waits = _waits_for(task, loop, lockdep)
        stack = _stack(task)
        tasks.append({"task": name, "site": _site(task), "waits_for": waits, "stack": stack})
        lines.append(f"{name} at {_site(task)} waits for {waits}")
    return Violation(
        rule="kernel.deadlock",
        message=f"deadlock at t={loop.time():g}s: {len(blocked)} task(s) blocked, nothing ready, no timer pending",
        location=_site(blocked[0]),
        expected="main returns, or some task is ready or waiting on a timer",
        seen="; ".join(lines),
        details={"tasks": tasks},
    )


def _leaked(loop: SimEventLoop, task: asyncio.Task[Any]) -> Violation:
    return Violation(
        rule="kernel.leaked-task",
        message=f"task {loop.task_name(task)} still pending when main returned",
        location=_site(task),
        expected="every task finished, cancelled or owned by a task group that main awaited",
        seen=f"suspended at {_site(task)}",
        details={"task": loop.task_name(task), "stack": _stack(task)},
    )


def _cancel_and_drain(loop: SimEventLoop) -> None:
    """Cancel whatever is left and let it unwind, so nothing is destroyed while pending."""
    loop.max_steps = loop.handles_run + CLEANUP_BUDGET
    for _ in range(CLEANUP_ROUNDS):
        pending = [task for task in loop.task_index if not task.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        loop.idle = False
        loop.run_forever()
    loop.run_until_complete(loop.shutdown_asyncgens())


def _loop_errors(loop: SimEventLoop, root: asyncio.Task[Any]) -> list[Violation]:
    """kernel.unretrieved-exception: task exceptions nobody retrieved, and errors that
    reached the loop's exception handler (exceptions in callbacks)."""
    violations = []
    for task, index in loop.task_index.items():
        if task is root or not task.done() or task.cancelled() or not task._log_traceback:
            continue
        task._log_traceback = False  # reported here; do not log again at garbage collection
        error = task.exception()
        violations.append(Violation(
            rule="kernel.unretrieved-exception",
            message=f"task {loop.names[index]} raised {type(error).__name__}: {error} and nobody retrieved it",
            location=_traceback_site(error),
            expected="the task is awaited, or its result()/exception() read, or it runs in a task group",
            seen=f"{type(error).__name__}: {error}",
            details={"task": loop.names[index]},
        ))
    for context in loop.exception_contexts:
        error = context.get("exception")
        violations.append(Violation(
            rule="kernel.unretrieved-exception",
            message=f"{context.get('message', 'error reached the event loop')}: {error!r}",
            location=_traceback_site(error),
            expected="no exception reaches the event loop's exception handler",
            seen=repr(error),
        ))
    return violations


def _traceback_site(error: BaseException | None) -> str:
    """Where ``error`` was raised (last traceback frame)."""
    tb = error.__traceback__ if error is not None else None
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{short_path(code.co_filename)}:{tb.tb_lineno} {code.co_qualname}"
