"""The kernels run ordinary asyncio/anyio code with virtual time and no real I/O."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from pathlib import Path

import anyio
import pytest

import sim
from sim.kernel import SimulationError, StepLimitExceeded
from sim.kernel.choices import ReplayChoices

KERNELS = ["asyncio", "trio"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_simulated_day_of_sleep_is_virtual(kernel):
    async def main():
        start = anyio.current_time()
        await anyio.sleep(86400)
        return anyio.current_time() - start

    result = sim.run(main, kernel=kernel)
    assert result.value == 86400
    assert result.virtual_seconds == 86400


@pytest.mark.parametrize("kernel", KERNELS)
def test_anyio_primitives_and_timeouts(kernel):
    async def main():
        send, receive = anyio.create_memory_object_stream(1)
        ready = anyio.Event()
        got = []

        async def consumer():
            async with receive:
                async for item in receive:
                    got.append((item, anyio.current_time()))
            ready.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(consumer)
            async with send:
                for item in range(3):
                    await anyio.sleep(10)
                    await send.send(item)
        await ready.wait()
        with anyio.move_on_after(5) as scope:
            await anyio.sleep(60)
        return got, scope.cancelled_caught, anyio.current_time()

    result = sim.run(main, kernel=kernel)
    result.raise_for_error()
    assert result.value == ([(0, 10.0), (1, 20.0), (2, 30.0)], True, 35.0)


def test_asyncio_queue_wait_for_and_timeout():
    async def main():
        queue: asyncio.Queue[int] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.call_later(7, queue.put_nowait, 1)
        first = await asyncio.wait_for(queue.get(), timeout=10)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):
                await queue.get()
        return first, loop.time()

    assert sim.run(main).value == (1, 10.0)


def test_task_names_are_per_run_not_process_global():
    async def child():
        await asyncio.sleep(1)

    async def main():
        await asyncio.gather(*(asyncio.create_task(child()) for _ in range(3)))

    first, second = sim.run(main), sim.run(main)
    names = [step.task for step in first.trace]
    assert names == [step.task for step in second.trace]
    expected = {"test_task_names_are_per_run_not_process_global.<locals>.main#1"} | {
        f"test_task_names_are_per_run_not_process_global.<locals>.child#{n}" for n in (1, 2, 3)
    }
    assert set(names) == expected


def _line_of(text):
    source = Path(__file__).read_text().splitlines()
    return next(n for n, line in enumerate(source, 1) if text in line and "_line_of" not in line)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(
    ("call", "marker"),
    [
        (lambda: socket.create_connection(("example.com", 80)), "socket.create_connection"),
        (lambda: socket.socket(), "socket.socket"),
        (lambda: subprocess.run(["true"], check=False), "subprocess.Popen"),
        (lambda: time.sleep(1), "time.sleep"),
    ],
    ids=["connect", "socket", "subprocess", "sleep"],
)
def test_real_io_is_refused_naming_the_call_site(kernel, call, marker):
    async def main():
        call()

    result = sim.run(main, kernel=kernel)
    assert isinstance(result.error, SimulationError)
    assert marker in str(result.error)
    assert "tests/kernel/test_kernel.py:" in str(result.error)
    socket.socket().close()  # restored after the run


@pytest.mark.parametrize("kernel", KERNELS)
def test_threads_are_refused(kernel):
    async def main():
        await anyio.to_thread.run_sync(lambda: None)

    result = sim.run(main, kernel=kernel)
    assert isinstance(result.error, SimulationError)
    assert "threading.Thread.start" in str(result.error) or "run_in_executor" in str(result.error)


def test_run_in_executor_names_the_caller():
    async def main():
        await asyncio.get_running_loop().run_in_executor(None, print)  # executor call

    error = sim.run(main).error
    assert isinstance(error, SimulationError)
    assert f"tests/kernel/test_kernel.py:{_line_of('# executor call')}" in str(error)


def test_unretrieved_task_exception_is_reported():
    async def doomed():
        raise KeyError("order-7")

    async def main():
        task = asyncio.get_running_loop().create_task(doomed())
        await asyncio.sleep(1)
        return task.done()

    result = sim.run(main)
    assert result.value is True
    [violation] = result.violations
    assert violation.rule == "kernel.unretrieved-exception"
    assert "KeyError" in violation.message and "doomed#1" in violation.message
    assert violation.location.startswith("tests/kernel/test_kernel.py:")


@pytest.mark.parametrize("kernel", KERNELS)
def test_step_limit_stops_a_livelock(kernel):
    async def main():
        while True:
            await anyio.lowlevel.checkpoint()

    result = sim.run(main, kernel=kernel, max_steps=500)
    assert isinstance(result.error, StepLimitExceeded)


@pytest.mark.parametrize("kernel", KERNELS)
def test_exports(kernel):
    async def main():
        async with anyio.create_task_group() as tg:
            for delay in (1, 2):
                tg.start_soon(anyio.sleep, delay)

    trace = sim.run(main, kernel=kernel).trace
    rows = [json.loads(line) for line in trace.to_jsonl().splitlines()]
    assert rows[-1]["time"] == 2.0
    assert [row["step"] for row in rows] == list(range(len(rows)))
    chrome = trace.to_chrome()
    assert {event["ph"] for event in chrome["traceEvents"]} == {"M", "i", "X"}
    assert max(event["ts"] for event in chrome["traceEvents"] if event["ph"] == "i") == 2e6
    mermaid = trace.to_mermaid()
    assert mermaid.startswith("sequenceDiagram\n")
    assert mermaid.count("Note over") == len(rows)


def test_bad_arguments_are_named():
    async def main():
        pass

    with pytest.raises(ValueError, match="unknown policy 'lifo'"):
        sim.run(main, policy="lifo")
    with pytest.raises(ValueError, match="unknown kernel 'curio'"):
        sim.run(main, kernel="curio")
    with pytest.raises(ValueError, match="schedule choice #1 must be a non-negative int"):
        ReplayChoices([0, -1])


def test_trio_private_scheduling_hooks_still_exist():
    """The trio kernel relies on these; if this fails, re-check before widening the pin."""
    from sim.kernel.trio_runner import deterministic_hooks_present

    assert deterministic_hooks_present()


@pytest.mark.parametrize("kernel", KERNELS)
def test_sleeping_forever_with_nothing_else_to_do_is_a_deadlock(kernel):
    async def main():
        await anyio.sleep(5)
        await anyio.sleep_forever()

    result = sim.run(main, kernel=kernel)
    assert isinstance(result.error, sim.kernel.Deadlock)
    assert result.virtual_seconds == 5
    assert [v.rule for v in result.violations] == ["kernel.deadlock"]


def test_asyncio_sleep_is_restored_after_a_run():
    stock = asyncio.sleep

    async def main():
        assert asyncio.sleep is not stock  # the kernel's fast virtual sleep during the run
        await asyncio.sleep(1, result="x")
        return await asyncio.sleep(2, result="y")

    assert sim.run(main).value == "y"
    assert asyncio.sleep is stock
