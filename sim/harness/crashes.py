"""When the process dies in a run with ``process`` faults, and what tells it to.

Crash moments are drawn in *market-data time* (the timestamps of the ticks the session has
seen), because that is the one clock every mode moves: paper and live follow it in virtual
time, a backtest replays it with the virtual clock standing still.  With ``crash_rate`` p per
minute, the time to the next crash is exponential with rate ``-ln(1 - p) / 60`` per second,
drawn from the plan's own ``process`` stream, so a seed gives the same crashes in every run.

A crash is triggered by the publish of the first tick at or past the drawn moment
(:class:`CrashTrigger`, a bus observer of the incarnation): its tasks are cancelled where
they are and its ports severed (``sim.world.crash``).  No crash is drawn in the last stretch
of a run (``window_end``): the liveness phase must judge a system that had time to recover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.harness.observing import PublishObserver
from sim.world.crash import KillSwitch
from sim.world.faults import FaultInjector

MAX_CRASHES = 3
"""Per run: a backtest starts its replay again after each crash, so unbounded crashes could
keep it from ever finishing."""
PRICE_TOPIC = "market.price_update"


class CrashSchedule:
    """The run's crash moments, drawn one incarnation at a time."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector
        self.crashes = 0
        self.downtimes: list[float] = []

    @property
    def enabled(self) -> bool:
        return self._injector.faults.crash_rate > 0

    def next_crash(self, *, after: float, window_end: float) -> float | None:
        """The market-data time of the next crash after ``after``, or None (no more this run)."""
        wait = self._injector.until_crash() if self.crashes < MAX_CRASHES else None
        return None if wait is None or after + wait >= window_end else after + wait

    def downtime(self) -> float:
        """Virtual seconds the process stays down after this crash."""
        self.crashes += 1
        seconds = self._injector.downtime()
        self.downtimes.append(seconds)
        return seconds


class CrashTrigger(PublishObserver):
    """Kills the incarnation when the first tick at or past ``moment`` is published."""

    def __init__(self, switch: KillSwitch, moment: float | None) -> None:
        self.switch, self.moment = switch, moment
        self.last_tick: float | None = None

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        if topic != PRICE_TOPIC:
            return
        timestamp = payload.get("timestamp")
        if isinstance(timestamp, int | float):
            self.last_tick = timestamp
            if self.moment is not None and timestamp >= self.moment and not self.switch.killed:
                self.switch.kill()
