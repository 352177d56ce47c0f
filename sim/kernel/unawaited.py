"""kernel.unawaited: coroutines created and dropped without ever being awaited.

CPython reports such a coroutine when it is finalized, through
``warnings._warn_unawaited_coroutine(coro)``; while a run is active that hook records the
coroutine instead, and ``sys.set_coroutine_origin_tracking_depth`` makes ``cr_origin``
name the line that created it.  A final ``gc.collect()`` catches coroutines kept alive by
reference cycles.
"""

from __future__ import annotations

import gc
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


class UnawaitedWatch:
    """Records never-awaited coroutines from :meth:`start` to :meth:`stop`."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []
        self._patches = Patches()
        self._depth = 0

    def start(self) -> None:
        self._depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(ORIGIN_DEPTH)
        self._patches.set(warnings, "_warn_unawaited_coroutine", self._record)

    def stop(self) -> list[Violation]:
        """Collect garbage, undo the hooks, and return one violation per coroutine."""
        try:
            gc.collect()
        finally:
            self._patches.restore()
            sys.set_coroutine_origin_tracking_depth(self._depth)
        return [
            Violation(
                rule="kernel.unawaited",
                message=f"coroutine {name}() was created but never awaited",
                location=site,
                expected=f"`await {name}(...)` or a task started from it",
                seen="the coroutine object was garbage-collected without running",
            )
            for name, site in self.found
        ]

    def _record(self, coro: Any) -> None:
        origin = getattr(coro, "cr_origin", None) or ()
        site = "<unknown: created before the run>"
        for filename, line, function in origin:
            if not any(part in filename for part in _PLUMBING):
                site = f"{short_path(filename)}:{line} {function}"
                break
        self.found.append((getattr(coro, "__qualname__", repr(coro)), site))
