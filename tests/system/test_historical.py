"""QuestDBHistoricalDataSource: every row exactly once, in order, under any interleaving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from sim.world.ports import VirtualClock
from system import topics
from system.bus import EventBus
from system.config import RetryPolicy
from system.data.historical import QuestDBHistoricalDataSource
from system.errors import HistoricalDataError
from system.ports import QueryError
from tests.system.fake_database import FakeDatabase

EPOCH = datetime(2025, 1, 6, tzinfo=UTC)
NAIVE_EPOCH = EPOCH.replace(tzinfo=None)
NO_BACKOFF = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def market(db: FakeDatabase, symbol: str, count: int, *, step: float, offset: float = 0.0) -> None:
    """``count`` rows of ``symbol`` every ``step`` seconds from ``offset``; price = row index."""
    db.add_rows(symbol, [(NAIVE_EPOCH + timedelta(seconds=offset + i * step), float(i), 1.0, float(i))
                         for i in range(count)])


async def replay(db: FakeDatabase, symbols: tuple[str, ...], *, batch_size: int, prefetch: int,
                 start: datetime = EPOCH, end: datetime = EPOCH + timedelta(days=1),
                 on_tick: Any = None) -> tuple[QuestDBHistoricalDataSource, list[dict[str, Any]]]:
    bus = EventBus()
    seen: list[dict[str, Any]] = []

    async def record(payload: dict[str, Any]) -> None:
        seen.append(payload)
        if on_tick is not None:
            on_tick(payload)

    await bus.subscribe(topics.MARKET_PRICE_UPDATE, record, component="Test", role="indicators")
    source = QuestDBHistoricalDataSource(bus, db, session_id="s1", symbols=symbols, start=start, end=end,
                                         batch_size=batch_size, prefetch=prefetch, clock=VirtualClock(EPOCH),
                                         retry=NO_BACKOFF)
    async with anyio.create_task_group() as task_group:
        await source.start(task_group)
        await source.done.wait()
    return source, seen


def only_error(group: BaseExceptionGroup) -> BaseException:
    """The one error inside (possibly nested) exception groups."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        assert len(error.exceptions) == 1, error.exceptions
        error = error.exceptions[0]
    return error


def expected_order(db: FakeDatabase, symbols: tuple[str, ...]) -> list[tuple[float, str, int]]:
    rows = [((ts - NAIVE_EPOCH).total_seconds() + EPOCH.timestamp(), symbol, seq)
            for symbol in symbols for seq, (ts, *_) in enumerate(db.market_data[symbol])]
    return sorted(rows)


@pytest.mark.anyio
@pytest.mark.parametrize(("batch_size", "prefetch"), [(1, 1), (3, 2), (7, 4), (50, 2), (1000, 3)])
@pytest.mark.parametrize("seed", [0, 1, 2])
async def test_every_row_exactly_once_in_merged_order(batch_size: int, prefetch: int, seed: int) -> None:
    db = FakeDatabase(seed=seed, max_yields=5)  # fetches complete in shuffled order
    market(db, "BTC_USDT", 103, step=1.0)
    market(db, "ETH_USDT", 57, step=1.7, offset=0.5)
    market(db, "SOL_USDT", 80, step=1.0)  # same timestamps as BTC: ties broken by symbol
    symbols = ("SOL_USDT", "BTC_USDT", "ETH_USDT")

    source, seen = await replay(db, symbols, batch_size=batch_size, prefetch=prefetch)

    assert [(p["timestamp"], p["symbol"], p["seq"]) for p in seen] == expected_order(db, symbols)
    assert all(p["price"] == float(p["seq"]) for p in seen)  # the row at that index, not another
    assert source.rows_published == {"SOL_USDT": 80, "BTC_USDT": 103, "ETH_USDT": 57}
    assert source.row_counts == source.rows_published
    assert {p["session_id"] for p in seen} == {"s1"} and {p["source"] for p in seen} == {"historical"}


@pytest.mark.anyio
async def test_time_range_is_start_inclusive_end_exclusive() -> None:
    db = FakeDatabase()
    market(db, "BTC_USDT", 10, step=1.0)
    _, seen = await replay(db, ("BTC_USDT",), batch_size=3, prefetch=2,
                           start=EPOCH + timedelta(seconds=2), end=EPOCH + timedelta(seconds=7))
    assert [p["price"] for p in seen] == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert [p["seq"] for p in seen] == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_memory_is_bounded_by_prefetch_batches() -> None:
    db = FakeDatabase(seed=3, max_yields=3)
    market(db, "BTC_USDT", 500, step=1.0)
    batch_size, prefetch = 10, 3
    ahead: list[int] = []

    def on_tick(payload: dict[str, Any]) -> None:
        ahead.append(db.fetched["BTC_USDT"] - (payload["seq"] + 1))

    await replay(db, ("BTC_USDT",), batch_size=batch_size, prefetch=prefetch, on_tick=on_tick)
    assert max(ahead) <= (prefetch + 1) * batch_size
    assert max(ahead) >= batch_size  # the workers did fetch ahead


@pytest.mark.anyio
async def test_transient_errors_are_retried_without_losing_or_repeating_rows() -> None:
    db = FakeDatabase(seed=4, max_yields=2)
    market(db, "BTC_USDT", 40, step=1.0)
    db.fail("LIMIT", times=2)
    db.fail("count()", times=1)
    source, seen = await replay(db, ("BTC_USDT",), batch_size=7, prefetch=2)
    assert [p["seq"] for p in seen] == list(range(40))
    assert source.rows_published == {"BTC_USDT": 40}


@pytest.mark.anyio
async def test_persistent_errors_fail_the_replay_naming_symbol_and_rows() -> None:
    db = FakeDatabase()
    market(db, "BTC_USDT", 40, step=1.0)
    db.fail("LIMIT", times=NO_BACKOFF.attempts)
    with pytest.raises(BaseExceptionGroup) as caught:
        await replay(db, ("BTC_USDT",), batch_size=40, prefetch=1)
    error = only_error(caught.value)
    assert isinstance(error, HistoricalDataError)
    assert "BTC_USDT" in str(error) and "rows 0..40" in str(error)


@pytest.mark.anyio
async def test_query_errors_are_not_retried() -> None:
    db = FakeDatabase()
    market(db, "BTC_USDT", 5, step=1.0)
    db.fail("count()", times=1, error=QueryError)
    with pytest.raises(BaseExceptionGroup) as caught:
        await replay(db, ("BTC_USDT",), batch_size=5, prefetch=1)
    assert "counting rows failed" in str(only_error(caught.value))
    assert db.calls == 1


@pytest.mark.anyio
async def test_null_quote_volume_is_derived_and_null_price_is_an_error() -> None:
    db = FakeDatabase()
    db.add_rows("BTC_USDT", [(NAIVE_EPOCH, 2.0, 3.0, None)])
    _, seen = await replay(db, ("BTC_USDT",), batch_size=5, prefetch=1)
    assert seen[0]["quote_volume"] == 6.0

    db = FakeDatabase()
    db.add_rows("BTC_USDT", [(NAIVE_EPOCH, None, 3.0, 1.0)])  # type: ignore[list-item]
    with pytest.raises(BaseExceptionGroup) as caught:
        await replay(db, ("BTC_USDT",), batch_size=5, prefetch=1)
    assert "row 0 has a NULL" in str(only_error(caught.value))


@pytest.mark.anyio
async def test_stop_ends_the_replay_early_and_is_idempotent() -> None:
    db = FakeDatabase(seed=5, max_yields=2)
    market(db, "BTC_USDT", 1000, step=1.0)
    bus = EventBus()
    source = QuestDBHistoricalDataSource(bus, db, session_id="s1", symbols=("BTC_USDT",), start=EPOCH,
                                         end=EPOCH + timedelta(days=1), batch_size=10, prefetch=2,
                                         clock=VirtualClock(EPOCH), retry=NO_BACKOFF)

    async def stop_at_100(payload: dict[str, Any]) -> None:
        if payload["seq"] == 99:
            await source.stop()

    await bus.subscribe(topics.MARKET_PRICE_UPDATE, stop_at_100, component="Test", role="indicators")
    async with anyio.create_task_group() as task_group:
        await source.start(task_group)
    await source.stop()
    assert source.rows_published["BTC_USDT"] == 100
    assert not source.done.is_set()


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
def test_exactly_once_on_the_simulated_questdb_under_random_schedules(kernel: str) -> None:
    """The real migrations, the simulated QuestDB and the random scheduling policy (seed defect 6)."""
    import sim.kernel
    from sim.world.questdb import SimQuestDB

    symbols = ("BTC_USDT", "ETH_USDT")
    db = SimQuestDB.from_migrations()  # read-only during the runs, so built once
    db.load_rows("market_data", [
        {"symbol": symbol, "timestamp": NAIVE_EPOCH + timedelta(seconds=i), "price": 1.0 + i,
         "volume": 1.0, "quote_volume": 1.0 + i}
        for symbol in symbols for i in range(24)
    ])

    async def main() -> list[tuple[str, int]]:
        bus = EventBus()
        seen: list[tuple[str, int]] = []

        async def record(payload: dict[str, Any]) -> None:
            seen.append((payload["symbol"], payload["seq"]))

        await bus.subscribe(topics.MARKET_PRICE_UPDATE, record, component="Test", role="indicators")
        source = QuestDBHistoricalDataSource(bus, db, session_id="s1", symbols=symbols, start=EPOCH,
                                             end=EPOCH + timedelta(hours=1), batch_size=3, prefetch=3,
                                             clock=VirtualClock(EPOCH))
        async with anyio.create_task_group() as task_group:
            await source.start(task_group)
        return seen

    expected = [(symbol, i) for i in range(24) for symbol in symbols]
    for seed in range(200):  # the bar: exactly-once under 200 random-policy seeds per kernel
        result = sim.kernel.run(main, seed=seed, policy="random", kernel=kernel, trace=False)
        assert result.error is None, result.error
        assert result.value == expected, f"seed {seed}"
