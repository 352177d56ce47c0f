"""Small programs with one known concurrency bug each.

Every program runs correctly under the stock asyncio loop's fifo order (so a plain test
run passes) and the kernel exposes the bug: a reordering policy (random or pct) makes it
fail, or a detector reports it on any schedule.  Each program creates its own state, so a
run never leaks into the next.  ``bench/kernel_bugs.py`` measures how many seeds each
policy needs to expose them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel


class LostUpdate(AssertionError):
    """Two increments, one result: a read-modify-write split by an await."""


async def lost_update() -> int:
    """``slow`` reads, awaits, writes back; ``fast`` increments after one checkpoint.
    In fifo order ``slow`` writes before ``fast`` increments; the other order loses one."""
    account = {"balance": 0}

    async def slow() -> None:
        seen = account["balance"]
        await anyio.lowlevel.checkpoint()
        account["balance"] = seen + 1

    async def fast() -> None:
        await anyio.lowlevel.checkpoint()
        account["balance"] += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(slow)
        tg.start_soon(fast)
    if account["balance"] != 2:
        raise LostUpdate(f"balance {account['balance']} after two increments")
    return account["balance"]


async def abba_locks() -> None:
    """``transfer`` takes A then B, ``audit`` takes B then A; neither yields while holding a
    lock, so no schedule deadlocks, yet the order is inverted: lockdep's job."""
    accounts = asyncio.Lock()
    ledger = asyncio.Lock()

    async def transfer() -> None:
        async with accounts, ledger:
            pass

    async def audit() -> None:
        async with ledger, accounts:
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(transfer)
        tg.start_soon(audit)


async def _notify(outbox: list[str], message: str) -> None:
    outbox.append(message)


async def unawaited_coroutine() -> list[str]:
    """``_notify(...)`` is called but not awaited: the message is silently never sent."""
    outbox: list[str] = []
    await _notify(outbox, "order created")
    _notify(outbox, "order filled")
    return outbox


async def deadlock() -> None:
    """ABBA with a checkpoint while holding the first lock: under fifo ``first`` takes both
    locks before ``second`` wants its second one; if ``second`` runs first in the second
    batch, each holds one lock and waits for the other, forever."""
    a = anyio.Lock(fast_acquire=True)  # fast: taking a free lock does not yield
    b = anyio.Lock(fast_acquire=True)

    async def first() -> None:
        async with a:
            await anyio.lowlevel.checkpoint()
            async with b:
                pass

    async def second() -> None:
        await anyio.lowlevel.checkpoint()
        async with b:
            await anyio.lowlevel.checkpoint()
            async with a:
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)


async def leaked_task() -> str:
    """A fire-and-forget heartbeat task that nobody stops: ``asyncio.run`` would cancel it
    silently at exit."""

    async def heartbeat() -> None:
        while True:  # noqa: ASYNC110 -- a periodic task, not a poll
            await anyio.sleep(30)

    asyncio.get_running_loop().create_task(heartbeat())
    await anyio.sleep(60)
    return "done"


class StaleRead(AssertionError):
    """The reader woke before the writer at the same instant."""


async def timer_tie() -> float:
    """Writer and reader both sleep until t=1; the reader assumes the writer went first.
    The stock loop runs equal-deadline timers in creation order; nothing guarantees it."""
    quote = {"price": 0.0}

    async def writer() -> None:
        await anyio.sleep(1)
        quote["price"] = 101.5

    async def reader() -> None:
        await anyio.sleep(1)
        if quote["price"] == 0.0:
            raise StaleRead("read the quote before it was published at the same instant")

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer)
        tg.start_soon(reader)
    return quote["price"]


async def busy_day() -> int:
    """A correct program with some of everything (task groups, a bounded stream, a lock,
    timeouts) for the property tests: 4 producers feed a consumer for a simulated day."""
    send, receive = anyio.create_memory_object_stream[int](2)
    lock = anyio.Lock()
    total = {"n": 0}

    async def producer(worker: int) -> None:
        for item in range(5):
            await send.send(worker * 10 + item)
            await anyio.sleep(3600 * (worker + 1))

    async def consumer() -> None:
        while True:
            with anyio.move_on_after(7200):
                item = await receive.receive()
                async with lock:
                    total["n"] += item

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        async with anyio.create_task_group() as producers:
            for worker in range(4):
                producers.start_soon(producer, worker)
        await anyio.sleep(86400)
        tg.cancel_scope.cancel()
    return total["n"]


async def set_order() -> list[str]:
    """Deterministic within one process, not across processes: tasks start in the
    iteration order of a set of strings, which follows PYTHONHASHSEED."""
    started: list[str] = []

    async def venue(name: str) -> None:
        started.append(name)

    async with anyio.create_task_group() as tg:
        for name in {"binance", "bybit", "coinbase", "kraken", "mexc", "okx", "bitget", "gate", "htx", "kucoin"}:
            tg.start_soon(venue, name, name=name)
    return started


async def held_back_withdrawal() -> dict[str, int]:
    """A lost update that needs one task held back for three steps while another runs:
    ``first`` reads and awaits once; ``second`` needs two checkpoints before its read.  Only
    if ``first`` waits while ``second`` takes three steps do both read the same balance.
    A shuffle of each ready batch cannot do that (a task is never held across batches)."""
    state = {"balance": 10, "paid": 0}

    async def withdraw(amount: int, warmup: int) -> None:
        for _ in range(warmup):
            await anyio.lowlevel.checkpoint()
        seen = state["balance"]
        await anyio.lowlevel.checkpoint()
        if seen >= amount:
            state["balance"] = seen - amount
            state["paid"] += amount

    async with anyio.create_task_group() as tg:
        tg.start_soon(withdraw, 7, 0)
        tg.start_soon(withdraw, 6, 2)
    if 10 - state["balance"] != state["paid"]:
        raise LostUpdate(f"balance {state['balance']}, paid {state['paid']}")
    return state


class Oversold(AssertionError):
    """Two buyers passed the same stock check; one unit was sold twice."""


async def check_then_act() -> int:
    """Each buyer checks the stock, then awaits twice (a price lookup, a risk check) before
    taking the unit.  Under fifo the second buyer, three checkpoints late, checks after the
    first has taken it; any order where its check falls inside that window oversells."""
    stock = {"units": 1, "sold": 0}

    async def buyer(late: int) -> None:
        for _ in range(late):
            await anyio.lowlevel.checkpoint()
        if stock["units"] > 0:  # check
            await anyio.lowlevel.checkpoint()  # price lookup
            await anyio.lowlevel.checkpoint()  # risk check
            stock["units"] -= 1  # act on a stale check
            stock["sold"] += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(buyer, 0)
        tg.start_soon(buyer, 3)
    if stock["sold"] > 1:
        raise Oversold(f"sold {stock['sold']} of 1 unit")
    return stock["sold"]


class MissedEvent(AssertionError):
    """An event was published before its subscriber registered, and was lost."""


async def late_subscribe() -> list[str]:
    """The fill handler registers after one set-up await; the venue publishes the fill after
    two.  Under fifo the handler is in place in time; hold it back two steps and the fill
    is published to nobody."""
    handlers: list[Callable[[str], None]] = []
    received: list[str] = []

    async def subscriber() -> None:
        await anyio.lowlevel.checkpoint()  # set-up
        handlers.append(received.append)

    async def venue() -> None:
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        for handler in handlers:
            handler("fill")

    async with anyio.create_task_group() as tg:
        tg.start_soon(subscriber)
        tg.start_soon(venue)
    if received != ["fill"]:
        raise MissedEvent("the fill was published before the handler subscribed")
    return received


class Starved(AssertionError):
    """The heartbeat never ran while the worker was busy: the watchdog fired."""


async def starved_heartbeat() -> int:
    """The worker checkpoints four times and then asks whether the heartbeat has beaten at
    least once; under fifo it has (it runs in the first batch).  A schedule that holds the
    heartbeat back for the worker's whole burst starves it."""
    beats = {"n": 0}

    async def heartbeat() -> None:
        await anyio.lowlevel.checkpoint()
        beats["n"] += 1

    async def worker() -> None:
        for _ in range(4):
            await anyio.lowlevel.checkpoint()
        if beats["n"] == 0:
            raise Starved("no heartbeat during the worker's burst of four steps")

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat)
        tg.start_soon(worker)
    return beats["n"]


async def near_timer_tie() -> float:
    """The writer wakes at t=1, the reader 1 ms later and assumes the write happened.
    Never a tie, so only jitter (``sim.run(..., jitter=...)``) can swap them."""
    quote = {"price": 0.0}

    async def writer() -> None:
        await anyio.sleep(1)
        quote["price"] = 101.5

    async def reader() -> None:
        await anyio.sleep(1.001)
        if quote["price"] == 0.0:
            raise StaleRead("read the quote 1 ms after it was due, before it was published")

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer)
        tg.start_soon(reader)
    return quote["price"]


def raised(kind: type[BaseException]) -> Callable[[Any], bool]:
    """The run failed with ``kind``, directly or inside a task group's exception group."""

    def check(result: Any) -> bool:
        pending = [result.error]
        while pending:
            error = pending.pop()
            if isinstance(error, kind):
                return True
            if isinstance(error, BaseExceptionGroup):
                pending.extend(error.exceptions)
        return False

    return check
