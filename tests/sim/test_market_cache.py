"""Market data made once: the cache gives exactly the generator's ticks, and the bulk load
files them exactly as inserting them one by one would."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from sim.world.market import cache, generate, load_into, market_ticks
from sim.world.ports import DEFAULT_EPOCH
from sim.world.questdb import DEFAULT_MIGRATIONS, SimQuestDB
from system.ports import DataError

SYMBOLS = ("BTC_USDT", "ETH_USDT", "SOL_USDT")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIMWIRE_CACHE_DIR", str(tmp_path))
    cache.clear_memory()
    yield tmp_path
    cache.clear_memory()


def ticks(seed: int = 5, hours: float = 0.25) -> tuple:
    return market_ticks(SYMBOLS, start=DEFAULT_EPOCH, hours=hours, seed=seed)


def expected(seed: int = 5, hours: float = 0.25) -> list:
    return generate(SYMBOLS, start=DEFAULT_EPOCH, hours=hours, seed=seed)


def test_cached_ticks_are_the_generated_ticks_from_memory_and_from_the_file(cache_dir):
    first = ticks()
    assert list(first) == expected()
    assert ticks() is first  # the same process: made once
    assert [p.suffix for p in cache_dir.iterdir()] == [".bin"]
    cache.clear_memory()
    from_file = ticks()
    assert from_file is not first and list(from_file) == expected()
    # instants are shared between symbols, as the generator shares them (memory of long runs)
    assert from_file[0].timestamp is from_file[1].timestamp


def test_each_generation_has_its_own_file_named_by_its_parameters_and_the_generator(cache_dir, monkeypatch):
    ticks(seed=1)
    ticks(seed=2)
    ticks(seed=1, hours=0.3)
    assert len(list(cache_dir.iterdir())) == 3
    key = cache.cache_key(SYMBOLS, start=DEFAULT_EPOCH, hours=0.25, tick_seconds=1.0, seed=1)
    monkeypatch.setattr(cache, "generator_version", lambda: "an edited generator")
    assert cache.cache_key(SYMBOLS, start=DEFAULT_EPOCH, hours=0.25, tick_seconds=1.0, seed=1) != key
    assert cache.cache_key(SYMBOLS, start=DEFAULT_EPOCH, hours=0.25, tick_seconds=1.0, seed=1,
                           regimes={"BTC_USDT": "flat"}) != key


@pytest.mark.parametrize("damage", ["truncated", "garbage", "extra bytes", "empty"])
def test_a_damaged_file_is_regenerated_never_trusted(cache_dir, damage):
    ticks()
    (path,) = cache_dir.iterdir()
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"x" * len(data),
                      "extra bytes": data + b"\0", "empty": b""}[damage])
    cache.clear_memory()
    assert list(ticks()) == expected()
    assert path.read_bytes() == data  # rewritten whole


def test_the_file_cache_can_be_turned_off(cache_dir, monkeypatch):
    monkeypatch.setenv("SIMWIRE_CACHE_DIR", "off")
    assert list(ticks()) == expected()
    assert list(cache_dir.iterdir()) == []


def test_an_unwritable_cache_directory_costs_time_not_correctness(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SIMWIRE_CACHE_DIR", str(blocker / "cache"))
    cache.clear_memory()
    assert list(ticks()) == expected()
    cache.clear_memory()


def test_the_memory_cache_is_bounded(cache_dir, monkeypatch):
    monkeypatch.setattr(cache, "MEMORY_TICKS", 3 * 900 * 2)  # two quarter-hours of three symbols
    first = ticks(seed=1)
    ticks(seed=2)
    assert ticks(seed=1) is first
    ticks(seed=3)  # evicts the least recently used: seed 2
    assert ticks(seed=1) is first
    assert len(cache._memory) == 2


# --- the bulk load -------------------------------------------------------------------------------


def fresh_db() -> SimQuestDB:
    db = SimQuestDB(seed=0)
    asyncio.run(db.apply_migrations(DEFAULT_MIGRATIONS))
    return db


def store_state(db: SimQuestDB) -> tuple:
    store = db.store("market_data")
    runs = {(at, value): (run.keys, run.rows) for at, by in store.by_symbol.items() for value, run in by.items()}
    return (store.all.keys, store.all.rows, runs, [list(by) for by in store.by_symbol.values()],
            list(store.dedup.items()), store.sequencer_txn, store.writer_txn)


def row_by_row(db: SimQuestDB) -> SimQuestDB:
    db._load_whole_columns = lambda store, rows: None  # type: ignore[method-assign]
    return db


T0 = DEFAULT_EPOCH.replace(tzinfo=None)
ROWS_CASES = {
    "in order": [(symbol, T0 + timedelta(seconds=n), 1.0 + n, 2.0, None) for n in range(5) for symbol in "AB"],
    "out of order": [("A", T0 + timedelta(seconds=3), 1.0, 1.0, 1.0), ("B", T0, 2.0, 1.0, 1.0),
                     ("A", T0 + timedelta(seconds=1), 3.0, 1.0, 1.0)],
    "duplicate keys (last write wins)": [("A", T0, 1.0, 1.0, 1.0), ("B", T0, 2.0, 1.0, 1.0),
                                         ("A", T0, 3.0, 1.0, 1.0)],
    "equal timestamps keep insertion order": [("B", T0, 1.0, 1.0, 1.0), ("A", T0, 2.0, 1.0, 1.0),
                                              ("C", T0, 3.0, 1.0, 1.0)],
    "values that need encoding": [("A", T0, 1, 2, 3), ("A", T0 + timedelta(seconds=1), 1.5, 2, None)],
    "mappings": [{"symbol": "A", "timestamp": T0, "price": 1.0, "volume": 1.0}],
}


@pytest.mark.parametrize("case", list(ROWS_CASES))
def test_the_bulk_load_files_rows_exactly_as_row_by_row_inserts(case):
    fast, slow = fresh_db(), row_by_row(fresh_db())
    rows = ROWS_CASES[case]
    assert fast.load_rows("market_data", rows) == slow.load_rows("market_data", rows) == len(rows)
    assert store_state(fast) == store_state(slow)
    assert fast.table_rows("market_data") == slow.table_rows("market_data")


def test_a_bulk_load_into_a_table_with_rows_keeps_dedup_and_order():
    fast, slow = fresh_db(), row_by_row(fresh_db())
    for rows in (ROWS_CASES["in order"], ROWS_CASES["out of order"]):
        fast.load_rows("market_data", rows)
        slow.load_rows("market_data", rows)
    assert store_state(fast) == store_state(slow)


def test_loaded_generated_data_is_filed_as_row_by_row(cache_dir):
    data = ticks(hours=0.2)
    fast, slow = fresh_db(), row_by_row(fresh_db())
    assert asyncio.run(load_into(fast, data)) == asyncio.run(load_into(slow, data)) == len(data)
    assert store_state(fast) == store_state(slow)


@pytest.mark.parametrize(("row", "message"), [
    (("A", DEFAULT_EPOCH, 1.0, 1.0, 1.0), "row 1 column 'timestamp'.*offset-naive and offset-aware"),
    (("A", T0, "x", 1.0, 1.0), r"row 1 column 'price': 'x' \(must be real"),
    (("A", None, 1.0, 1.0, 1.0), "row 1: designated timestamp column cannot be NULL"),
    (("A", T0, 1.0, 1.0), "row 1: expected the columns"),
    ((True, T0, 1.0, 1.0, 1.0), "row 1 column 'symbol'"),
])
def test_bad_rows_in_a_bulk_load_are_named_as_before(row, message):
    db = fresh_db()
    with pytest.raises(DataError, match=message):
        db.load_rows("market_data", [("A", T0, 1.0, 1.0, 1.0), row])
