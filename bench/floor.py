"""The harness switched off: what no work on the harness could ever beat.

Imported by ``ceiling.py`` (the whole run against the ceiling) and ``levers.py`` (seeds per
CPU-second).  Inside :func:`harness_off` a run still has its kernel, its simulated world, its
data set-up and its detectors, but the harness's bus observers (the event recorder, the
runtime monitor with its lineage and invariant checks, the reference model's strategy replay,
the storage gate) and its statement checks do nothing, and the judges judge nothing.  A run
measured so is the floor of the harness's cost: a target that this configuration misses
cannot be reached by making the harness cheaper, only by the system, the world or the
kernel.  Never a way to run for real: it finds nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

from contracts.monitor import RuntimeMonitor
from sim.harness.model.replay import StrategyReplay
from sim.harness.recorder import EventRecorder
from sim.harness.session import SessionDriver
from sim.harness.storage_oracle import StorageGateWatch

OBSERVERS = (EventRecorder, RuntimeMonitor, StrategyReplay, StorageGateWatch)


def _ignore(*args: Any) -> None:
    return None


@contextlib.contextmanager
def harness_off() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for observer in OBSERVERS:
            stack.enter_context(mock.patch.object(observer, "on_publish", _ignore))
        stack.enter_context(mock.patch.object(RuntimeMonitor, "on_statement", _ignore))
        stack.enter_context(mock.patch.object(SessionDriver, "judge", lambda self: []))
        yield
