"""Market data: generator invariants, the default regime mix, CSV loading, loading into the
simulated QuestDB, and the paced paper feed."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.world.market import REGIMES, CsvError, SimulatedMarketFeed, generate, load_csv, load_into
from sim.world.ports import VirtualClock
from system.ports import Tick

START = datetime(2025, 1, 6, tzinfo=UTC)
DEFAULT_SYMBOLS = ["BTC_USDT", "ETH_USDT", "SOL_USDT"]


@settings(max_examples=30, deadline=None)
@given(
    symbols=st.lists(st.sampled_from(["BTC_USDT", "ETH_USDT", "SOL_USDT", "DOGE_USDT", "XRP_USDT"]),
                     min_size=1, max_size=4, unique=True),
    hours=st.floats(min_value=0, max_value=1.5),
    tick_seconds=st.sampled_from([0.5, 1.0, 5.0, 60.0]),
    seed=st.integers(min_value=0, max_value=2**32),
    regime=st.sampled_from(sorted(REGIMES)),
)
def test_generated_ticks_are_well_formed(symbols, hours, tick_seconds, seed, regime):
    ticks = generate(symbols, start=START, hours=hours, tick_seconds=tick_seconds, seed=seed,
                     regimes={symbols[0]: regime})
    assert all(tick.price > 0 and tick.volume > 0 and tick.quote_volume > 0 for tick in ticks)
    assert all(tick.timestamp.tzinfo is UTC for tick in ticks)
    assert [tick.timestamp for tick in ticks] == sorted(tick.timestamp for tick in ticks)
    end = START + timedelta(hours=hours)
    for symbol in symbols:
        times = [tick.timestamp for tick in ticks if tick.symbol == symbol]
        assert all(a < b for a, b in pairwise(times))
        assert all(START <= t < end + timedelta(seconds=tick_seconds) for t in times)
        expected = hours * 3600 / tick_seconds
        assert len(times) <= expected + 1e-6
        if regime != "gap" or symbol != symbols[0]:
            assert len(times) > expected - 1
    assert {tick.symbol for tick in ticks} <= set(symbols)


def test_same_seed_same_data_and_symbols_are_independent():
    one = generate(["ETH_USDT"], start=START, hours=0.2, seed=5)
    assert one == generate(["ETH_USDT"], start=START, hours=0.2, seed=5)
    assert one != generate(["ETH_USDT"], start=START, hours=0.2, seed=6)
    both = generate(["BTC_USDT", "ETH_USDT"], start=START, hours=0.2, seed=5)
    assert [tick for tick in both if tick.symbol == "ETH_USDT"] == one


def test_flat_is_flat_and_gap_has_a_hole():
    ticks = generate(["A", "B"], start=START, hours=1.0, seed=1, regimes={"A": "flat", "B": "gap"})
    assert len({tick.price for tick in ticks if tick.symbol == "A"}) == 1
    times = [tick.timestamp for tick in ticks if tick.symbol == "B"]
    assert max(b - a for a, b in pairwise(times)) >= timedelta(minutes=5)


def _biggest_move(prices: list[float], window: int, rising: bool) -> tuple[float, int]:
    """The largest relative rise (or fall) between a tick and one up to ``window`` ticks later."""
    best, at = 0.0, 0
    for start in range(0, len(prices) - 1, 30):
        segment = prices[start:start + window]
        move = (max(segment) if rising else min(segment)) / prices[start] - 1
        if (move > best) if rising else (move < best):
            best, at = move, start
    return best, at


@pytest.mark.parametrize("seed", range(5))
def test_default_mix_has_a_pump_with_volume_surge_then_a_dump_within_two_hours(seed):
    ticks = generate(DEFAULT_SYMBOLS, start=START, hours=2, seed=seed)
    eth = [tick for tick in ticks if tick.symbol == "ETH_USDT"]
    prices = [tick.price for tick in eth]
    volumes = [tick.volume for tick in eth]
    rise, at = _biggest_move(prices, 20 * 60, rising=True)
    assert 0.045 <= rise <= 0.13
    window = prices[at:at + 20 * 60]
    peak = at + window.index(max(window))
    quiet = statistics.median(volumes[:600])  # every regime's first episode starts >= 5 minutes in
    assert statistics.mean(volumes[at:peak]) > 2 * quiet
    fall, _ = _biggest_move(prices[peak:], 30 * 60, rising=False)
    assert fall <= -0.05
    sol_fall, _ = _biggest_move([tick.price for tick in ticks if tick.symbol == "SOL_USDT"], 12 * 60, rising=False)
    assert sol_fall <= -0.045


def test_generate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="timezone-aware UTC"):
        generate(["A"], start=datetime(2025, 1, 6), hours=1, seed=0)
    with pytest.raises(ValueError, match="unknown regime"):
        generate(["A"], start=START, hours=1, seed=0, regimes={"A": "moon"})
    with pytest.raises(ValueError, match="tick_seconds > 0"):
        generate(["A"], start=START, hours=1, seed=0, tick_seconds=0)
    with pytest.raises(ValueError, match="duplicate symbols"):
        generate(["A", "A"], start=START, hours=1, seed=0)


# --- CSV --------------------------------------------------------------------------------------


def write(tmp_path, text: str):
    path = tmp_path / "ticks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_iso_and_epoch_ms_and_defaults_quote_volume(tmp_path):
    path = write(tmp_path, "symbol,timestamp,price,volume,quote_volume\n"
                           "BTC_USDT,2025-01-06T00:00:01Z,100.5,2,\n"
                           "ETH_USDT,1736121600000,10,3,31\n"
                           "\n"
                           "BTC_USDT,2025-01-06T02:00:00+02:00,101,1,101\n")
    assert load_csv(path) == [
        Tick("ETH_USDT", START, 10.0, 3.0, 31.0),
        Tick("BTC_USDT", START, 101.0, 1.0, 101.0),
        Tick("BTC_USDT", START + timedelta(seconds=1), 100.5, 2.0, 201.0),
    ]


@pytest.mark.parametrize(("text", "line", "column", "problem"), [
    ("", 1, None, "empty file"),
    ("symbol,time,price,volume\n", 1, None, "missing ['timestamp']"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,1\n", 2, None, "expected 4 values, found 3"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,1,1\nA,yesterday,1,1\n", 3, "timestamp",
     "not ISO-8601 or epoch milliseconds"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,abc,1\n", 2, "price", "not a number: 'abc'"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,0,1\n", 2, "price", "finite number > 0"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,1,-1\n", 2, "volume", "finite number >= 0"),
    ("symbol,timestamp,price,volume\nA,2025-01-06T00:00:00,nan,1\n", 2, "price", "finite number > 0"),
    ("symbol,timestamp,price,volume\n,2025-01-06T00:00:00,1,1\n", 2, "symbol", "empty symbol"),
    ("symbol,timestamp,price,volume\nA,1736121600000,1,1\nA,2025-01-06T00:00:00Z,2,1\n", 3, "timestamp",
     "duplicate tick for A at 2025-01-06T00:00:00+00:00 (first on line 2)"),
])
def test_load_csv_errors_name_file_line_and_column(tmp_path, text, line, column, problem):
    path = write(tmp_path, text)
    with pytest.raises(CsvError) as caught:
        load_csv(path)
    error = caught.value
    assert (error.path, error.line, error.column) == (str(path), line, column)
    assert str(error).startswith(f"{path}:{line}")
    assert problem in str(error)


# --- into the simulated QuestDB, and the paper feed ------------------------------------------


def test_load_into_writes_market_data_the_replay_can_query(db, simulate):
    ticks = generate(DEFAULT_SYMBOLS, start=START, hours=0.25, seed=2)
    query = ("SELECT symbol, timestamp, price, volume, quote_volume FROM market_data WHERE symbol = $1 "
             "AND timestamp >= $2 AND timestamp < $3 ORDER BY timestamp LIMIT $4, $5")

    async def main():
        written = await load_into(db, ticks)
        async with db.acquire() as conn:
            rows = await conn.fetch(query, "SOL_USDT", datetime(2025, 1, 6), datetime(2025, 1, 7), 0, 100_000)
        return written, rows

    written, rows = simulate(main)
    sol = [tick for tick in ticks if tick.symbol == "SOL_USDT"]
    assert written == len(ticks)
    assert [tuple(row) for row in rows] == [
        (t.symbol, t.timestamp.replace(tzinfo=None), t.price, t.volume, t.quote_volume) for t in sol]


def test_feed_yields_each_tick_at_its_virtual_time_and_late_ones_at_once(simulate):
    ticks = generate(["BTC_USDT", "ETH_USDT"], start=START, hours=10 / 3600, seed=1)
    clock = VirtualClock(START)
    feed = SimulatedMarketFeed(ticks, clock)

    async def main():
        await anyio.sleep(2.5)
        return [(anyio.current_time(), tick) async for tick in feed.stream(["ETH_USDT"])]

    seen = simulate(main)
    assert [tick for _, tick in seen] == [t for t in ticks if t.symbol == "ETH_USDT"]
    assert [at for at, _ in seen] == [2.5, 2.5, 2.5, 3, 4, 5, 6, 7, 8, 9]
    assert all(at == max(clock.to_virtual(tick.timestamp), 2.5) for at, tick in seen)


def test_feed_rejects_symbols_it_has_no_data_for(simulate):
    feed = SimulatedMarketFeed(generate(["BTC_USDT"], start=START, hours=0.001, seed=1), VirtualClock(START))

    async def main():
        with pytest.raises(ValueError, match=r"no ticks for \['DOGE_USDT'\]"):
            async for _ in feed.stream(["BTC_USDT", "DOGE_USDT"]):
                pass

    simulate(main)
