"""What a session is asked to do (SessionSpec) and the states it goes through (ExecutionState).

State machine (every transition goes through ``ExecutionController._transition_to``, which
validates, logs and publishes ``session.state_changed``)::

    IDLE -> STARTING -> RUNNING -> STOPPING -> STOPPED
              |            |          |
              +------------+----------+-----> FAILED
    IDLE -> STOPPED   (stopped before it was ever started)

After a crash (the process died, the ``sessions`` row still says IDLE, STARTING, RUNNING or
STOPPING), :meth:`UnifiedTradingController.recover` decides per mode:

    <row's state> -> RECOVERING -> STARTING -> ...   paper and live: resumed, book rebuilt from the tables
    <row's state> -> INTERRUPTED                     backtest: closed (re-run it; history replays the same)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from system.errors import ConfigError

MODES = ("backtest", "paper", "live")


class ExecutionState(StrEnum):
    IDLE = "IDLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    RECOVERING = "RECOVERING"
    """Found unfinished after a restart; its book is rebuilt before it starts again."""
    INTERRUPTED = "INTERRUPTED"
    """A backtest cut by a crash: closed, not resumed."""

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({ExecutionState.STOPPED, ExecutionState.FAILED, ExecutionState.INTERRUPTED})
_AFTER_CRASH = (ExecutionState.RECOVERING, ExecutionState.INTERRUPTED)

ALLOWED_TRANSITIONS: dict[ExecutionState, tuple[ExecutionState, ...]] = {
    ExecutionState.IDLE: (ExecutionState.STARTING, ExecutionState.STOPPED, *_AFTER_CRASH),
    ExecutionState.STARTING: (ExecutionState.RUNNING, ExecutionState.FAILED, *_AFTER_CRASH),
    ExecutionState.RUNNING: (ExecutionState.STOPPING, ExecutionState.FAILED, *_AFTER_CRASH),
    ExecutionState.STOPPING: (ExecutionState.STOPPED, ExecutionState.FAILED, *_AFTER_CRASH),
    ExecutionState.RECOVERING: (ExecutionState.STARTING, ExecutionState.FAILED),
    ExecutionState.STOPPED: (),
    ExecutionState.FAILED: (),
    ExecutionState.INTERRUPTED: (),
}


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """One session: ``mode`` (backtest/paper/live), its symbols and its time range.

    Backtest replays ``[start, end)`` of ``market_data``; paper and live trade until ``end``
    on the Clock (``start`` is recorded).  ``initial_balance`` overrides the config's.
    Times must be timezone-aware: a naive datetime's zone is a guess.
    """

    mode: str
    symbols: tuple[str, ...]
    start: datetime
    end: datetime
    initial_balance: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.symbols, list):
            object.__setattr__(self, "symbols", tuple(self.symbols))
        if self.mode not in MODES:
            raise ConfigError("SessionSpec.mode", f"must be one of {MODES}, got {self.mode!r}")
        if (not isinstance(self.symbols, tuple) or not self.symbols
                or not all(isinstance(s, str) and s for s in self.symbols)):
            raise ConfigError("SessionSpec.symbols", f"must be a non-empty tuple of symbols, got {self.symbols!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError("SessionSpec.symbols", f"symbols must be unique, got {self.symbols!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ConfigError(f"SessionSpec.{name}", f"must be a timezone-aware datetime, got {value!r}")
        if self.start >= self.end:
            raise ConfigError("SessionSpec.end", f"must be after start ({self.start}), got {self.end}")
        balance = self.initial_balance
        if balance is not None and (isinstance(balance, bool) or not isinstance(balance, int | float)
                                    or not math.isfinite(balance) or balance <= 0):
            raise ConfigError("SessionSpec.initial_balance", f"must be a finite number > 0, got {balance!r}")
