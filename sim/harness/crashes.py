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

from collections.abc import Callable, Mapping
from typing import Any

from sim.harness.observing import PublishObserver
from sim.world.crash import KillSwitch
from sim.world.faults import FaultInjector

MAX_CRASHES = 3
"""Per run: a backtest starts its replay again after each crash, so unbounded crashes could
keep it from ever finishing."""
PRICE_TOPIC = "market.price_update"
QUIET_TOPICS = frozenset({PRICE_TOPIC, "indicator.updated"})
PATIENCE = 600
"""Ticks a due crash waits for work before it strikes anyway (200 s of three symbols)."""
CHAIN_DEPTH = 8
"""A crash lands up to this many publishes after its tick: a tick's chain (indicators, signal,
order, fill, position, their rows) is about that long."""


class CrashSchedule:
    """The run's crash moments, drawn one incarnation at a time."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector
        self.crashes = 0

    def next_crash(self, *, after: float, window_end: float) -> float | None:
        """The market-data time of the next crash after ``after``, or None (no more this run)."""
        wait = self._injector.until_crash() if self.crashes < MAX_CRASHES else None
        return None if wait is None or after + wait >= window_end else after + wait

    def publishes_after(self) -> int:
        """How many publishes after the crash tick the process still makes (``CrashTrigger``)."""
        return self._injector.pick(CHAIN_DEPTH + 1)

    def downtime(self) -> float:
        """Virtual seconds the process stays down after this crash."""
        self.crashes += 1
        return self._injector.downtime()


class CrashTrigger(PublishObserver):
    """Kills the incarnation once a tick at or past ``moment`` was published: at the first piece
    of work after it (``work``; for trading an order, a fill, a position or an actionable signal)
    plus ``then`` more publishes, or at the tick ``PATIENCE`` ticks on if no
    work comes.  So crashes land where a crash can lose something — between a signal and its
    order, an order and its submission, a fill and its row — rather than in the quiet between
    two ticks, where most of a run's time is spent and a crash tests nothing."""

    def __init__(self, switch: KillSwitch, moment: float | None, then: int = 0,
                 work: Callable[[str, Mapping[str, Any]], bool] | None = None) -> None:
        self.switch, self.moment, self.then = switch, moment, then
        self.work = work or (lambda topic, payload: topic not in QUIET_TOPICS)
        """Which publishes are work a crash could cut (the target says; default: all but ticks)."""
        self.last_tick: float | None = None
        self._armed = self._due = False
        self._ticks = 0

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        if self.switch.killed:
            return
        if topic == PRICE_TOPIC:
            timestamp = payload.get("timestamp")
            if isinstance(timestamp, int | float):
                self.last_tick = timestamp
                self._armed = self._armed or (self.moment is not None and timestamp >= self.moment)
            if self._armed:
                self._ticks += 1
                if self._ticks > PATIENCE and not self._due:
                    self.switch.kill()
                    return
        elif self._armed and self.work(topic, payload):
            self._due = True
        if self._due:
            if self.then <= 0:
                self.switch.kill()
            self.then -= 1
