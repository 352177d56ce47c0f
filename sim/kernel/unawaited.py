"""kernel.unawaited: coroutines created and dropped without ever being awaited.

CPython reports such a coroutine when it is finalized, through
``warnings._warn_unawaited_coroutine(coro)``; while a run is active that hook records the
coroutine instead, and ``sys.set_coroutine_origin_tracking_depth`` makes ``cr_origin``
name the line that created it.  A final ``gc.collect()`` catches coroutines kept alive by
reference cycles.

Attribution to the run that created them: only coroutines with a ``cr_origin`` (origin
tracking is on only while a run is active) are this run's; others finalized during the run
go to the stock warning.  Coroutines of this run that are still alive and never started
at its end (kept alive by a traceback in ``RunResult.error``, say) are reported now and
remembered, so that their finalization during a *later* run is not reported there again.
Findings are aggregated by site: one violation per (coroutine, creation site) with a count.
"""

from __future__ import annotations

import gc
import inspect
import os
import sys
import warnings
from typing import Any

from sim.kernel.patches import Patches
from sim.kernel.sites import short_path
from simwire.violation import Violation

ORIGIN_DEPTH = 1
"""Frames kept per coroutine creation.  One names the line that called the coroutine
function, which is the usual bug (`notify()` without `await`); each extra frame costs about
0.3x on a task-switch-bound workload, so the default stays at one."""

_PLUMBING = (f"{os.sep}asyncio{os.sep}", f"{os.sep}anyio{os.sep}", f"{os.sep}trio{os.sep}")

_REPORTED: dict[int, tuple[str, Any]] = {}
"""Coroutines already reported by the run that created them (still alive at its end), by
id with their name and origin to confirm the identity.  Not a WeakSet: a garbage collection
clears weak references *before* it finalizes, so the finalizer could no longer find them."""


def _reported(coro: Any) -> bool:
    entry = _REPORTED.get(id(coro))
    return entry is not None and entry == (getattr(coro, "__qualname__", ""), getattr(coro, "cr_origin", None))


class UnawaitedWatch:
    """Records never-awaited coroutines from :meth:`start` to :meth:`stop`."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], int] = {}
        self._patches = Patches()
        self._depth = 0
        self._stock: Any = None

    def start(self) -> None:
        self._depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(ORIGIN_DEPTH)
        self._stock = self._patches.set(warnings, "_warn_unawaited_coroutine", self._record)

    def stop(self) -> list[Violation]:
        """Collect garbage, undo the hooks, and return one violation per site."""
        try:
            gc.collect()
            self._still_alive_and_never_started()
        finally:
            self._patches.restore()
            sys.set_coroutine_origin_tracking_depth(self._depth)
        return [
            Violation(
                rule="kernel.unawaited",
                message=f"coroutine {name}() was created but never awaited"
                + (f" ({count} times at this site)" if count > 1 else ""),
                location=site,
                expected=f"`await {name}(...)` or a task started from it",
                seen=f"{count} coroutine object(s) dropped or left without ever running",
                details={"coroutine": name, "count": count},
            )
            for (name, site), count in self.found.items()
        ]

    def _still_alive_and_never_started(self) -> None:
        """This run's coroutines that never ran and are still referenced (by a traceback,
        a result, a list): reported by this run, ignored when they die later."""
        for obj in gc.get_objects():
            if (
                type(obj).__name__ == "coroutine"
                and getattr(obj, "cr_origin", None)
                and inspect.getcoroutinestate(obj) == inspect.CORO_CREATED
                and not _reported(obj)
            ):
                site = _site(obj.cr_origin)
                if site is not None:
                    self._add(obj, site)
                    _REPORTED[id(obj)] = (obj.__qualname__, obj.cr_origin)

    def _record(self, coro: Any) -> None:
        origin = getattr(coro, "cr_origin", None)
        if _reported(coro):
            del _REPORTED[id(coro)]
            return
        site = _site(origin) if origin else None
        if site is None:
            self._stock(coro)  # not created by this run: the stock RuntimeWarning
            return
        self._add(coro, site)

    def _add(self, coro: Any, site: str) -> None:
        key = (getattr(coro, "__qualname__", repr(coro)), site)
        self.found[key] = self.found.get(key, 0) + 1


def _site(origin: Any) -> str | None:
    for filename, line, function in origin:
        if not any(part in filename for part in _PLUMBING):
            return f"{short_path(filename)}:{line} {function}"
    return None
