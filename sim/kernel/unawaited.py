"""kernel.unawaited: coroutines created and dropped without ever being awaited.

CPython reports such a coroutine when it is finalized, through
``warnings._warn_unawaited_coroutine(coro)``; while a run is active that hook records the
coroutine instead.  At the end, a ``gc.collect()`` finalizes those dropped in reference
cycles; it runs only when a never-started coroutine of the run is still tracked (a clean run
skips the walk over every object).

Attribution to the run that created them: the never-started coroutines alive when the run
starts are noted; one of them finalized during the run goes to the stock warning, not to
this run.  This run's coroutines still alive and never started at its end (kept alive by a
traceback in ``RunResult.error``, say) are reported now and remembered, so that their
finalization during a *later* run is not reported there again.

Where a coroutine was created: with ``origins=True``, ``sys.set_coroutine_origin_tracking_depth``
makes ``cr_origin`` name the line that called the coroutine function — about 30% on a
coroutine-heavy run, so by default it is off and a finding names the coroutine function's
own definition; :func:`sim.kernel.run` then replays the run's schedule with origins on
(determinism makes it the same run) to name the creating lines.  Findings are aggregated
by site: one violation per (coroutine, site) with a count.
"""

from __future__ import annotations

import gc
import inspect
import os
import sys
import warnings
from types import CoroutineType
from typing import Any

from sim.kernel.patches import Patches
from sim.kernel.sites import short_path
from simwire.violation import Violation

ORIGIN_DEPTH = 1
"""Frames kept per coroutine creation with ``origins=True``: the line that called the
coroutine function, which is the usual bug (`notify()` without `await`)."""

_PLUMBING = (f"{os.sep}asyncio{os.sep}", f"{os.sep}anyio{os.sep}", f"{os.sep}trio{os.sep}")

DEFINED = "defined at "
"""Prefix of a site that names the coroutine function's definition (origins were off)."""

_REPORTED: dict[int, str] = {}
"""Coroutines already reported by the run that created them (still alive at its end), by
id with their qualname to confirm the identity.  Not a WeakSet: a garbage collection clears
weak references *before* it finalizes, so the finalizer could no longer find them."""


def _never_started() -> list[CoroutineType[Any, Any, Any]]:
    """Every coroutine the collector tracks that has not started.  Only CPython's own
    coroutine type: it is the one whose finalizer calls the hook (a compiled library's
    coroutine objects never do).  Two passes, so the scan of every tracked object (a hundred
    thousand after a few runs in one process) is one type comparison each."""
    coroutines = [obj for obj in gc.get_objects() if type(obj) is CoroutineType]
    return [coro for coro in coroutines if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED]


class UnawaitedWatch:
    """Records never-awaited coroutines from :meth:`start` to :meth:`stop`."""

    def __init__(self, *, origins: bool = False) -> None:
        self.origins = origins
        self.found: dict[tuple[str, str], int] = {}
        self._patches = Patches()
        self._depth = 0
        self._stock: Any = None
        self._before: dict[int, str] = {}

    def start(self) -> None:
        self._before = {id(coro): coro.__qualname__ for coro in _never_started()}
        self._depth = sys.get_coroutine_origin_tracking_depth()
        if self.origins:
            sys.set_coroutine_origin_tracking_depth(ORIGIN_DEPTH)
        self._stock = self._patches.set(warnings, "_warn_unawaited_coroutine", self._record)

    def stop(self) -> list[Violation]:
        """Collect garbage, undo the hooks, and return one violation per site.

        The full collection (the costliest part of a short run's detectors: it walks every
        tracked object) happens only when some never-started coroutine of this run is still
        tracked: a dropped one in a reference cycle is such a coroutine until collected, so
        when there is none, there is nothing a collection could finalize for this run."""
        try:
            if any(self._of_this_run(coro) for coro in _never_started()):
                gc.collect()  # the dropped ones are finalized through the hook (``_record``)
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

    @property
    def sites_known(self) -> bool:
        """False if some finding names only a definition (origins were off)."""
        return not any(site.startswith(DEFINED) for _, site in self.found)

    def _still_alive_and_never_started(self) -> None:
        """This run's coroutines that never ran and are still referenced (by a traceback,
        a result, a list): reported by this run, ignored when they die later."""
        for obj in _never_started():
            if self._of_this_run(obj):
                site = self._site(obj)
                if site is not None:
                    self._add(obj, site)
                    _REPORTED[id(obj)] = obj.__qualname__

    def _of_this_run(self, coro: Any) -> bool:
        """Not alive before the run started, and not reported already (by an earlier run)."""
        name = coro.__qualname__
        return self._before.get(id(coro)) != name and _REPORTED.get(id(coro)) != name

    def _record(self, coro: Any) -> None:
        name = getattr(coro, "__qualname__", "")
        if _REPORTED.get(id(coro)) == name:
            del _REPORTED[id(coro)]
            return
        site = None if self._before.get(id(coro)) == name else self._site(coro)
        if site is None:
            self._stock(coro)  # not created by this run, or by plumbing: the stock RuntimeWarning
            return
        self._add(coro, site)

    def _site(self, coro: Any) -> str | None:
        origin = getattr(coro, "cr_origin", None)
        if origin:
            for filename, line, function in origin:
                if not any(part in filename for part in _PLUMBING):
                    return f"{short_path(filename)}:{line} {function}"
            return None
        code = getattr(coro, "cr_code", None)
        if code is None or any(part in code.co_filename for part in _PLUMBING):
            return None
        return f"{DEFINED}{short_path(code.co_filename)}:{code.co_firstlineno} {code.co_qualname}"

    def _add(self, coro: Any, site: str) -> None:
        key = (getattr(coro, "__qualname__", repr(coro)), site)
        self.found[key] = self.found.get(key, 0) + 1
