"""kernel.lock-order: lockdep for asyncio and anyio locks.

Every acquisition made while the acquiring task already holds other locks adds edges
"held A -> acquiring B" to one run-wide graph.  Any cycle in that graph is an ordering
that *can* deadlock under some interleaving, so it is reported even if this run got lucky.

A lock's identity is its creation site, e.g. ``system/orders/backtest.py:88
BacktestOrderManager._lock``: all locks created on one line form one class, as in Linux
lockdep, so an inversion between two sessions' managers is found even when each session
has its own lock objects.  Nesting two locks of the same class is not reported.

Hooked classes: ``asyncio.Lock`` and anyio's ``Lock`` on both backends (anyio 4.x builds
its own lock on asyncio and wraps ``trio.Lock`` on trio).  Gaps: bare ``trio.Lock``,
``asyncio.Semaphore``/``Condition`` and locks created before the run (those are named by
their first acquisition site instead).
"""

from __future__ import annotations

import asyncio
import linecache
import re
import sys
from collections.abc import Callable
from typing import Any

from sim.kernel.patches import Patches
from sim.kernel.sites import caller_site, is_library, short_path
from simwire.violation import Violation

_ASSIGNED = re.compile(r"^\s*(?:self\.)?([A-Za-z_]\w*)\s*(?::[^=]+)?=[^=]")


def _creation_name() -> str:
    """``path:line Owner.attribute`` of the first non-library frame (the ``X = Lock()`` line)."""
    frame = sys._getframe(2)
    while frame.f_back is not None and is_library(frame.f_code):
        frame = frame.f_back
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno)
    match = _ASSIGNED.match(source)
    owner = code.co_qualname.rsplit(".", 1)[0] if "." in code.co_qualname else code.co_qualname
    if "<locals>" in owner:
        owner = code.co_name
    where = f"{short_path(code.co_filename)}:{frame.f_lineno}"
    if match:
        return f"{where} {owner}.{match.group(1)}"
    return f"{where} {code.co_qualname}"


class LockDep:
    """The run-wide lock-order graph, plus who holds and who waits for which lock."""

    def __init__(self) -> None:
        self._current_task: Callable[[], Any] = lambda: None
        self._task_name: Callable[[Any], str] = repr
        self._names: dict[int, str] = {}
        self._locks: list[Any] = []  # keeps ids stable for the run
        self._held: dict[Any, list[str]] = {}
        self._owner: dict[int, Any] = {}
        self.waiting: dict[Any, str] = {}
        self.edges: dict[tuple[str, str], str] = {}
        self._patches = Patches()

    # -- hooks --------------------------------------------------------------------------

    def bind(self, current_task: Callable[[], Any], task_name: Callable[[Any], str]) -> None:
        """Tell lockdep how the kernel names the running task (asyncio and trio differ)."""
        self._current_task = current_task
        self._task_name = task_name

    def install(self) -> None:
        import anyio._backends._asyncio as anyio_asyncio
        import anyio._backends._trio as anyio_trio

        for cls in (asyncio.Lock, anyio_asyncio.Lock, anyio_trio.Lock):
            self._hook(cls)

    def uninstall(self) -> None:
        self._patches.restore()

    def _hook(self, cls: type) -> None:
        dep = self
        original_init = cls.__init__
        original_acquire = cls.acquire
        original_release = cls.release

        def __init__(lock: Any, *args: Any, **kwargs: Any) -> None:
            original_init(lock, *args, **kwargs)
            dep._created(lock, _creation_name())

        async def acquire(lock: Any) -> Any:
            task = dep._current_task()
            name = dep._before_acquire(lock, task)
            try:
                result = await original_acquire(lock)
            finally:
                dep.waiting.pop(task, None)
            dep._acquired(lock, name, task)
            return result

        def release(lock: Any) -> None:
            original_release(lock)
            dep._released(lock)

        self._patches.set(cls, "__init__", __init__)
        self._patches.set(cls, "acquire", acquire)
        self._patches.set(cls, "release", release)
        if hasattr(cls, "acquire_nowait"):
            original_nowait = cls.acquire_nowait

            def acquire_nowait(lock: Any) -> None:
                task = dep._current_task()
                name = dep._before_acquire(lock, task, blocking=False)
                original_nowait(lock)
                dep._acquired(lock, name, task)

            self._patches.set(cls, "acquire_nowait", acquire_nowait)

    # -- bookkeeping --------------------------------------------------------------------

    def _created(self, lock: Any, name: str) -> None:
        self._names[id(lock)] = name
        self._locks.append(lock)

    def _name(self, lock: Any) -> str:
        name = self._names.get(id(lock))
        if name is None:
            name = f"lock first acquired at {caller_site()}"
            self._created(lock, name)
        return name

    def _before_acquire(self, lock: Any, task: Any, *, blocking: bool = True) -> str:
        name = self._name(lock)
        held = self._held.get(task)
        if held:
            site = None
            for before in held:
                if before != name and (before, name) not in self.edges:
                    site = site or caller_site()
                    self.edges[(before, name)] = f"{site} in {self._task_name(task)}"
        if blocking and lock.locked():
            self.waiting[task] = name
        return name

    def _acquired(self, lock: Any, name: str, task: Any) -> None:
        self._held.setdefault(task, []).append(name)
        self._owner[id(lock)] = task

    def _released(self, lock: Any) -> None:
        task = self._owner.pop(id(lock), None)
        held = self._held.get(task)
        if held:
            name = self._names.get(id(lock))
            for position in range(len(held) - 1, -1, -1):
                if held[position] == name:
                    del held[position]
                    break

    def holder_of(self, lock_name: str) -> Any:
        """The task holding a lock of that name, if any."""
        for lock_id, task in self._owner.items():
            if self._names.get(lock_id) == lock_name:
                return task
        return None

    # -- the verdict --------------------------------------------------------------------

    def violations(self) -> list[Violation]:
        """One violation per distinct cycle of the held-while-acquiring graph."""
        graph: dict[str, list[str]] = {}
        for before, after in self.edges:
            graph.setdefault(before, []).append(after)
        found: list[Violation] = []
        seen: set[tuple[str, ...]] = set()
        for start in sorted(graph):
            for cycle in _cycles_through(graph, start):
                low = cycle.index(min(cycle))
                canonical = tuple(cycle[low:] + cycle[:low])
                if canonical in seen:
                    continue
                seen.add(canonical)
                found.append(self._violation(list(canonical)))
        return found

    def _violation(self, cycle: list[str]) -> Violation:
        pairs = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        seen = "; ".join(f"held {a} while acquiring {b} at {self.edges[(a, b)]}" for a, b in pairs)
        return Violation(
            rule="kernel.lock-order",
            message="lock order inversion: " + " -> ".join([*cycle, cycle[0]]),
            location=self.edges[pairs[-1]].split(" in ")[0],
            expected="every task takes these locks in one global order",
            seen=seen,
            details={"cycle": cycle, "edges": [{"held": a, "acquiring": b, "site": self.edges[(a, b)]}
                                               for a, b in pairs]},
        )


def _cycles_through(graph: dict[str, list[str]], start: str) -> list[list[str]]:
    """Simple cycles that start at ``start`` and only visit nodes >= start (each found once)."""
    cycles: list[list[str]] = []
    path = [start]
    on_path = {start}

    def walk(node: str) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycles.append(list(path))
            elif nxt > start and nxt not in on_path:
                path.append(nxt)
                on_path.add(nxt)
                walk(nxt)
                path.pop()
                on_path.discard(nxt)

    walk(start)
    return cycles
