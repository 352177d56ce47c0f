"""The data timeline of a run: which market-data time each kernel step was processing.

A backtest replays history as fast as it can, so its virtual clock stands still and every step
of its trace is at the same virtual time: a Perfetto timeline of it would be one vertical line.
What moves is the data.  :class:`DataTimeline` notes, at every publish whose payload carries a
numeric ``timestamp`` (the tick's time, and the signal/order/position events stamped with it),
the index of the kernel step in progress; :func:`retimed` then lays each step at the data time
of the latest mark at or before it (steps before the first mark, the session's start-up, at
the first one), never going back, so the trace spans the session's data and stays ordered.
A lean run's trace is recovered by a traced replay, which is the run the timeline observes.

Paper and live runs keep the virtual time: there the clock moves and *is* the session's time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any

from sim.harness.observing import PublishObserver
from sim.kernel.trace import Trace, TraceStep


def kernel_position() -> int | None:
    """How many steps the running simulated kernel has traced so far (so the step in progress
    is this index), or None outside a simulated run."""
    try:
        raw = getattr(asyncio.get_running_loop(), "raw", None)
    except RuntimeError:  # not in asyncio: the trio kernel keeps its steps on its instrument
        raw = _trio_raw()
    return len(raw) if isinstance(raw, list) else None


def _trio_raw() -> list[Any] | None:
    try:
        import trio

        instruments = trio._core._run.GLOBAL_RUN_CONTEXT.runner.instruments  # no public accessor
        return next((i.raw for i in instruments.get("_all", {}) if isinstance(getattr(i, "raw", None), list)),
                    None)
    except (AttributeError, RuntimeError, ImportError):
        return None


class DataTimeline(PublishObserver):
    """A bus observer keeping ``(step index, data time)`` marks, one per change of data time.
    Attached only to a run that records its full trace (``sim.kernel.full_trace()``: the
    session decides): a lean run has no steps to mark."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, float]] = []

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        stamp = payload.get("timestamp") if isinstance(payload, Mapping) else None
        if not isinstance(stamp, int | float) or isinstance(stamp, bool) or not math.isfinite(stamp):
            return
        if self.marks and self.marks[-1][1] == stamp:
            return
        position = kernel_position()
        if position is not None:
            self.marks.append((position, float(stamp)))


def retimed(trace: Trace, marks: list[tuple[int, float]]) -> Trace:
    """``trace`` with each step at the data time of the latest mark at or before it (the
    running maximum: sessions replaying side by side never move the timeline back)."""
    if not marks:
        return trace
    steps: list[TraceStep] = []
    pending = iter(sorted(marks))
    upcoming = next(pending, None)
    time = min(t for _, t in marks)
    for step in trace.steps:
        while upcoming is not None and upcoming[0] <= step.index:
            time = max(time, upcoming[1])
            upcoming = next(pending, None)
        steps.append(TraceStep(step.index, step.task, step.site, time))
    return Trace.from_steps(steps)


def chrome_trace(result: Any) -> dict[str, Any]:
    """The Chrome/Perfetto JSON of a scenario run: on the data's time in a backtest (whose
    virtual clock stands still), on the virtual time otherwise."""
    trace = result.kernel_result.trace
    trace.steps  # noqa: B018 (a lean run's trace is recovered here, by a traced replay that notes the timeline)
    recorder = getattr(getattr(result, "record", None), "recorder", None)
    timeline = getattr(recorder, "data_timeline", None)
    if result.spec.mode == "backtest" and timeline is not None and timeline.marks:
        trace = retimed(trace, timeline.marks)
    return trace.to_chrome()
