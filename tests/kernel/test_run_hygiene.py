"""What a user trips over: bounds and livelocks, verdicts that never say ok beside a
violation, unawaited coroutines reported by the run that made them, asyncio on trio."""

from __future__ import annotations

import asyncio
import gc

import anyio
import pytest

import sim
from sim.kernel import SimulationError, StepLimitExceeded, ViolationsFound
from tests.kernel import programs

KERNELS = ["asyncio", "trio"]


async def _never_ending_ticker() -> None:
    async def ticker() -> None:
        while True:  # noqa: ASYNC110 -- the bug under test: a loop nobody stops
            await anyio.sleep(60)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.sleep(1)  # main is done, but the task group waits for the ticker forever


@pytest.mark.parametrize("kernel", KERNELS)
def test_virtual_time_is_bounded_and_the_looping_task_named(kernel):
    result = sim.run(_never_ending_ticker, kernel=kernel, max_virtual_seconds=3600)
    assert isinstance(result.error, StepLimitExceeded)
    [violation] = [v for v in result.violations if v.rule == "kernel.livelock"]
    assert "max_virtual_seconds=3600" in violation.message
    assert [task["task"] for task in violation.details["tasks"]] == ["_never_ending_ticker.<locals>.ticker#1"]
    assert "test_run_hygiene.py" in violation.location


@pytest.mark.parametrize("kernel", KERNELS)
def test_steps_are_bounded_and_the_spinning_task_named(kernel):
    async def main():
        async def spin():
            while True:
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(spin)

    result = sim.run(main, kernel=kernel, max_steps=2000)
    assert isinstance(result.error, StepLimitExceeded)
    [violation] = [v for v in result.violations if v.rule == "kernel.livelock"]
    assert violation.message.startswith("run exceeded max_steps=2000")
    assert violation.details["tasks"][0]["task"].endswith("main.<locals>.spin#1")


def test_the_bounds_are_on_by_default():
    from sim.kernel.livelock import DEFAULT_MAX_VIRTUAL_SECONDS

    result = sim.run(_never_ending_ticker)
    assert isinstance(result.error, StepLimitExceeded)
    assert f"max_virtual_seconds={DEFAULT_MAX_VIRTUAL_SECONDS:g}" in str(result.error)


@pytest.mark.parametrize("kernel", KERNELS)
def test_raise_for_error_raises_on_detector_violations(kernel):
    result = sim.run(programs.abba_locks, kernel=kernel)
    assert result.error is None and result.violations
    with pytest.raises(ViolationsFound, match=r"kernel\.lock-order") as raised:
        result.raise_for_error()
    assert raised.value.violations == result.violations
    assert " ok" not in result.summary() and "violations: kernel.lock-order" in result.summary()
    sim.run(programs.busy_day, kernel=kernel).raise_for_error()  # a clean run does not raise


def test_unawaited_coroutines_are_aggregated_by_site():
    async def main():
        for _ in range(3):
            programs._notify([], "dropped")

    [violation] = sim.run(main).violations
    assert violation.rule == "kernel.unawaited"
    assert violation.details["count"] == 3 and "3 times" in violation.message


@pytest.mark.parametrize("kernel", KERNELS)
def test_an_unawaited_coroutine_belongs_to_the_run_that_made_it(kernel):
    async def main():
        return programs._notify([], "kept alive by the result")  # never awaited, still referenced

    first = sim.run(main, kernel=kernel)
    assert [v.rule for v in first.violations] == ["kernel.unawaited"]
    del first  # the coroutine dies now, between runs or during the next one

    async def unrelated():
        gc.collect()
        await anyio.sleep(1)

    later = sim.run(unrelated, kernel="asyncio")
    assert later.violations == []


@pytest.mark.parametrize("kernel", KERNELS)
def test_an_unawaited_coroutine_dropped_in_a_reference_cycle_is_reported_by_its_run(kernel):
    async def main():
        holder: list[object] = []
        holder.append(holder)  # only a garbage collection can free what this list holds
        holder.append(programs._notify([], "dropped in a cycle"))
        await anyio.sleep(1)

    [violation] = sim.run(main, kernel=kernel).violations
    assert violation.rule == "kernel.unawaited" and "_notify" in violation.message


def test_an_asyncio_program_on_trio_names_the_cause():
    async def main():
        await asyncio.sleep(1)

    result = sim.run(main, kernel="trio")
    assert isinstance(result.error, SimulationError)
    assert "asyncio used on the trio kernel at tests/kernel/test_run_hygiene.py:" in str(result.error)
    assert "kernel='asyncio'" in str(result.error)
