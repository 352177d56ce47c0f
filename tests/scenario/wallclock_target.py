"""A target whose domain logic reads the stdlib directly: ``datetime.now()``, ``random.random()``
and ``uuid.uuid4()``, no ports (``simwire run --target tests.scenario.wallclock_target:TARGET``).

Deterministic only because the kernel virtualizes the stdlib inside a run
(:mod:`sim.kernel.virtual_stdlib`); with ``--no-virtualize`` every row differs between two runs
of one seed while the schedule stays the same (the sleeps are fixed, only the rows vary).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from examples.tally.bus import Bus
from sim.harness.targets import BaseTarget, Ports

PERIOD = 60.0
"""Seconds between two dispatched jobs (times the spec's ``tick_seconds``)."""
INSERT_JOB = "INSERT INTO jobs (job_id, seq, jitter, due, at) VALUES ($1, $2, $3, $4, $5)"


class Dispatcher:
    """Makes one job every ``period`` seconds: a uuid4 id, a random jitter, stamped with now."""

    def __init__(self, database: Any, period: float) -> None:
        self.database, self.period, self.made = database, period, 0

    async def run_for(self, seconds: float) -> None:
        for seq in range(int(seconds // self.period)):
            await anyio.sleep(self.period)
            now = datetime.now(UTC).replace(tzinfo=None)  # TIMESTAMP parameters are naive UTC
            jitter = round(random.random(), 9)
            async with self.database.acquire() as connection:
                await connection.execute(INSERT_JOB, str(uuid.uuid4()), seq, jitter,
                                         now + timedelta(seconds=30 * jitter), now)
            self.made += 1


class WallclockSystem:
    def __init__(self, dispatcher: Dispatcher, seconds: float) -> None:
        self.dispatcher, self.seconds, self.bus = dispatcher, seconds, Bus()

    async def start(self) -> None:
        return None

    async def run(self) -> None:
        await self.dispatcher.run_for(self.seconds)

    async def stop(self) -> None:
        return None

    async def facts(self) -> dict[str, Any]:
        return {"made": self.dispatcher.made}

    def row_scope(self) -> None:
        return None

    async def close(self) -> None:
        return None


class WallclockTarget(BaseTarget):
    name = "wallclock"
    modes = ("backtest",)
    tables = ("jobs",)

    def migrations(self) -> Path:
        return Path(__file__).parent / "wallclock_migrations"

    async def build(self, ports: Ports) -> WallclockSystem:
        spec = ports.spec
        return WallclockSystem(Dispatcher(ports.database, PERIOD * spec.tick_seconds), spec.hours * 3600)


TARGET = WallclockTarget()
