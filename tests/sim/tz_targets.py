"""Determinism targets for tests/sim/test_timezones.py: a program whose schedule depends on the
host's time zone (the defect family ``simwire determinism`` must catch), and one whose does not."""

from __future__ import annotations

import time

import anyio


async def local_time_program() -> None:
    """Sleeps the local hour of the epoch: 0 s under UTC, 5 s under +05:30 (a local-time defect)."""
    await anyio.sleep(time.localtime(0).tm_hour + 1)


async def utc_program() -> None:
    await anyio.sleep(time.gmtime(0).tm_hour + 1)
