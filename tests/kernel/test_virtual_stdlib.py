"""Stdlib nondeterminism is virtualized inside a run: same seed, same outputs."""

from __future__ import annotations

import datetime
import random
import time
import uuid

import anyio
import pytest

import sim
from sim.kernel import SimulationError
from sim.kernel.virtual_stdlib import EPOCH
from tests.kernel import stdlib_user

KERNELS = ["asyncio", "trio"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_same_seed_same_outputs_other_seed_differs(kernel):
    first = sim.run(stdlib_user.fill_prices, seed=3, kernel=kernel)
    first.raise_for_error()
    again = sim.run(stdlib_user.fill_prices, seed=3, kernel=kernel)
    other = sim.run(stdlib_user.fill_prices, seed=4, kernel=kernel)
    assert first.value == again.value
    assert first.value != other.value
    stamp, _, _, wall, mono, _, _ = first.value[0]
    assert stamp.startswith("2024-01-01T00:00:00")
    assert wall == pytest.approx(EPOCH + mono)
    assert mono == pytest.approx(first.trace.steps[0].time, abs=1.0)


def test_everything_is_restored_after_the_run():
    real = (time.time, time.monotonic, time.perf_counter, random.random, uuid.uuid4, datetime.datetime,
            stdlib_user.datetime, stdlib_user.random, stdlib_user.time)
    sim.run(stdlib_user.fill_prices, seed=1)
    assert (time.time, time.monotonic, time.perf_counter, random.random, uuid.uuid4, datetime.datetime,
            stdlib_user.datetime, stdlib_user.random, stdlib_user.time) == real
    assert datetime.datetime.now().year >= 2025


def test_virtualize_false_leaves_the_real_stdlib():
    result = sim.run(stdlib_user.fill_prices, seed=3, virtualize=False)
    assert not result.value[0][0].startswith("2024-01-01")
    assert result.value != sim.run(stdlib_user.fill_prices, seed=3, virtualize=False).value


def test_datetime_stays_usable_as_a_type():
    async def main():
        now = datetime.datetime.now(datetime.UTC)
        made = stdlib_user.datetime(2020, 1, 2)
        return (type(now) is type(made), isinstance(made, datetime.datetime),
                isinstance(now, stdlib_user.datetime), made.isoformat())

    assert sim.run(main).value == (True, True, True, "2020-01-02T00:00:00")


def test_time_sleep_is_refused_naming_the_site():
    async def main():
        time.sleep(1)  # noqa: ASYNC251 -- the blocking call under test

    result = sim.run(main)
    assert isinstance(result.error, SimulationError)
    assert "time.sleep() called at tests/kernel/test_virtual_stdlib.py" in str(result.error)


def test_the_clock_follows_virtual_time():
    async def main():
        before = time.monotonic()
        await anyio.sleep(90)
        return time.monotonic() - before

    assert sim.run(main).value == 90
