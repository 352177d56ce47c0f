"""The simulated QuestDB's SQL engine, connection API, observers, log and faults."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
import pytest

from sim.world.faults import FaultPlan
from sim.world.questdb import LoggedStatement, SimQuestDB, SimRecord
from system.ports import DatabaseError, DataError, QueryError, TransientDatabaseError

T0 = datetime(2025, 1, 6)
INSERT_ORDER = ("INSERT INTO orders (order_id, session_id, symbol, side, timestamp, quantity, price, status) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
ORDERS = [
    ("o1", "s1", "BTC_USDT", "BUY", T0, 1.0, 100.0, "NEW"),
    ("o2", "s1", "ETH_USDT", "SELL", T0 + timedelta(seconds=2), 2.0, 10.0, "FILLED"),
    ("o3", "s2", "BTC_USDT", "BUY", T0 + timedelta(seconds=1), 3.0, None, "NEW"),
    ("o4", "s2", "SOL_USDT", "SELL", T0 + timedelta(seconds=3), 4.0, 30.0, "CANCELLED"),
]


async def seeded(db: SimQuestDB):
    async with db.acquire() as conn:
        await conn.executemany(INSERT_ORDER, ORDERS)


def ids(records) -> list[str]:
    return [record["order_id"] for record in records]


@pytest.mark.parametrize(("where", "args", "expected"), [
    ("", (), ["o1", "o3", "o2", "o4"]),
    ("WHERE session_id = $1", ("s2",), ["o3", "o4"]),
    ("WHERE session_id <> $1", ("s2",), ["o1", "o2"]),
    ("WHERE quantity > $1 AND quantity <= $2", (1.0, 3.0), ["o3", "o2"]),
    ("WHERE quantity < 2 OR status = 'CANCELLED'", (), ["o1", "o4"]),
    ("WHERE status IN ($1, $2)", ("FILLED", "CANCELLED"), ["o2", "o4"]),
    ("WHERE price IS NULL", (), ["o3"]),
    ("WHERE price IS NOT NULL AND NOT (side = 'BUY')", (), ["o2", "o4"]),
    ("WHERE price = NULL", (), ["o3"]),
    ("WHERE price > NULL", (), []),
    ("WHERE timestamp >= $1 AND timestamp < $2", (T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)), ["o3", "o2"]),
    ("WHERE timestamp = $1", (T0 + timedelta(seconds=2),), ["o2"]),
    ("WHERE $1 < timestamp", (T0 + timedelta(seconds=2),), ["o4"]),
    ("WHERE timestamp > '2025-01-06T00:00:01'", (), ["o2", "o4"]),
    ("WHERE symbol = $1 AND session_id = $2", ("BTC_USDT", "s2"), ["o3"]),
    ("WHERE symbol = $1", ("NOPE",), []),
])
def test_where_clauses(db, simulate, where, args, expected):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            return ids(await conn.fetch(f"SELECT order_id FROM orders {where}", *args))

    assert simulate(main) == expected


@pytest.mark.parametrize(("tail", "expected"), [
    ("ORDER BY timestamp DESC", ["o4", "o2", "o3", "o1"]),
    ("ORDER BY timestamp DESC LIMIT 2", ["o4", "o2"]),
    ("ORDER BY quantity DESC", ["o4", "o3", "o2", "o1"]),
    ("ORDER BY session_id DESC, quantity", ["o3", "o4", "o1", "o2"]),
    ("ORDER BY price", ["o3", "o2", "o4", "o1"]),
    ("ORDER BY price DESC", ["o1", "o4", "o2", "o3"]),
    ("LIMIT -2", ["o2", "o4"]),
    ("LIMIT 0", []),
    ("LIMIT 1, 3", ["o3", "o2"]),
    ("LIMIT 3, 10", ["o4"]),
])
def test_order_and_limit(db, simulate, tail, expected):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            return ids(await conn.fetch(f"SELECT order_id FROM orders {tail}"))

    assert simulate(main) == expected


def test_aggregates_with_implicit_group_by(db, simulate):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            grouped = await conn.fetch("SELECT session_id, count(), sum(quantity) AS total, min(price), max(price), "
                                       "avg(quantity), first(order_id), last(order_id) FROM orders "
                                       "ORDER BY session_id DESC")
            empty = await conn.fetchrow("SELECT count(), sum(quantity) FROM orders WHERE session_id = 'zz'")
            return [dict(record.items()) for record in grouped], tuple(empty)

    grouped, empty = simulate(main)
    assert grouped == [
        {"session_id": "s2", "count": 2, "total": 7.0, "min": 30.0, "max": 30.0, "avg": 3.5, "first": "o3",
         "last": "o4"},
        {"session_id": "s1", "count": 2, "total": 3.0, "min": 10.0, "max": 100.0, "avg": 1.5, "first": "o1",
         "last": "o2"},
    ]
    assert empty == (0, None)


def test_records_behave_like_asyncpg_records(db, simulate):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            return await conn.fetchrow("SELECT order_id, quantity AS qty FROM orders")

    record = simulate(main)
    assert isinstance(record, SimRecord)
    assert (record["order_id"], record[0], record["qty"], record[1], record[-1]) == ("o1", "o1", 1.0, 1.0, 1.0)
    assert list(record.keys()) == ["order_id", "qty"]
    assert list(record.values()) == ["o1", 1.0]
    assert list(record.items()) == [("order_id", "o1"), ("qty", 1.0)]
    assert list(record) == ["o1", 1.0]
    assert len(record) == 2
    assert dict(record.items()) == {"order_id": "o1", "qty": 1.0}
    assert record.get("nope", 7) == 7
    with pytest.raises(KeyError, match="nope"):
        record["nope"]


def test_fetch_variants_and_status_tags(db, simulate):
    async def main():
        async with db.acquire() as conn:
            tag = await conn.execute(INSERT_ORDER, *ORDERS[0])
            return (tag, await conn.fetchrow("SELECT order_id FROM orders WHERE order_id = 'zz'"),
                    await conn.fetchval("SELECT order_id, quantity FROM orders", column=1),
                    await conn.fetchval("SELECT order_id FROM orders WHERE order_id = 'zz'"),
                    await conn.execute("SELECT * FROM orders"))

    assert simulate(main) == ("INSERT 0 1", None, 1.0, None, "SELECT 1")


def test_update_changes_only_matching_rows_and_keeps_the_symbol_index_right(db, simulate):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            await conn.execute("UPDATE orders SET status = $1, price = price * 2 WHERE session_id = $2 AND "
                               "price IS NOT NULL", "FILLED", "s2")
            await conn.execute("UPDATE orders SET session_id = 's3' WHERE order_id = 'o1'")
            return (ids(await conn.fetch("SELECT order_id FROM orders WHERE status = 'FILLED'")),
                    await conn.fetchval("SELECT price FROM orders WHERE order_id = 'o4'"),
                    ids(await conn.fetch("SELECT order_id FROM orders WHERE session_id = 's1'")),
                    ids(await conn.fetch("SELECT order_id FROM orders WHERE session_id = 's3'")))

    assert simulate(main) == (["o2", "o4"], 60.0, ["o2"], ["o1"])


def test_out_of_order_inserts_are_kept_in_designated_timestamp_order(db, simulate):
    times = [T0 + timedelta(seconds=s) for s in (5, 1, 3, 1, 0)]

    async def main():
        async with db.acquire() as conn:
            for number, ts in enumerate(times):
                await conn.execute("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)", f"o{number}", ts)
        return db.table_rows("orders")

    rows = simulate(main)
    assert [row["timestamp"] for row in rows] == sorted(times)
    assert [row["order_id"] for row in rows] == ["o4", "o1", "o3", "o2", "o0"]


def test_parameter_count_must_match(db, simulate):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(DataError, match="the server expects 8 arguments for this query, 2 were passed"):
                await conn.execute(INSERT_ORDER, "o1", "s1")

    simulate(main)


def test_executemany_is_atomic_and_names_the_bad_element(db, simulate):
    rows = [ORDERS[0], (*ORDERS[1][:5], "2.0", *ORDERS[1][6:])]

    async def main():
        async with db.acquire() as conn:
            with pytest.raises(DataError) as caught:
                await conn.executemany(INSERT_ORDER, rows)
        return str(caught.value), db.table_rows("orders")

    message, stored = simulate(main)
    assert message == ("invalid input for query argument $6 in element #1 of executemany() sequence: '2.0' "
                       "(must be real number, not str)")
    assert stored == []


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple, str | None]] = []

    def on_statement(self, query, args, error):
        self.seen.append((query, args, None if error is None else type(error).__name__))


def test_observer_sees_every_statement_once_per_executemany_row(db, simulate):
    recorder = Recorder()
    db.add_observer(recorder)

    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            await conn.fetch("SELECT count() FROM orders")
            with pytest.raises(QueryError):
                await conn.fetch("SELECT nope FROM orders")

    simulate(main)
    assert recorder.seen == [
        *[(INSERT_ORDER, row, None) for row in ORDERS],
        ("SELECT count() FROM orders", (), None),
        ("SELECT nope FROM orders", (), "QueryError"),
    ]
    assert db.statement_log[-1] == LoggedStatement("SELECT nope FROM orders", (), "QueryError: Invalid column: nope")
    assert [entry.args for entry in db.statement_log[:4]] == ORDERS


def test_transaction_commits_together_and_rolls_back_on_error(db, simulate):
    async def main():
        async with db.acquire() as conn:
            async with conn.transaction():
                await conn.execute(INSERT_ORDER, *ORDERS[0])
                inside = await conn.fetchval("SELECT count() FROM orders")
            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await conn.execute(INSERT_ORDER, *ORDERS[1])
                    raise RuntimeError("boom")
            with pytest.raises(DatabaseError, match="nested"):
                async with conn.transaction(), conn.transaction():
                    pass
            return inside, ids(await conn.fetch("SELECT order_id FROM orders"))

    assert simulate(main) == (0, ["o1"])


def test_connection_cannot_be_used_after_release(db, simulate):
    async def main():
        async with db.acquire() as conn:
            pass
        with pytest.raises(DatabaseError, match="released"):
            await conn.fetch("SELECT * FROM orders")

    simulate(main)


def test_plans_are_cached_and_recompiled_after_a_schema_change(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.fetch("SELECT * FROM orders")
            first = db._plans["SELECT * FROM orders"][1]
            await conn.fetch("SELECT * FROM orders")
            again = db._plans["SELECT * FROM orders"][1]
            await conn.execute("ALTER TABLE orders ADD COLUMN venue SYMBOL")
            await conn.execute(INSERT_ORDER, *ORDERS[0])
            row = await conn.fetchrow("SELECT * FROM orders")
            return first is again, db._plans["SELECT * FROM orders"][1] is first, list(row.keys())[-1]

    assert simulate(main) == (True, False, "venue")


def test_ddl_errors_are_query_errors(db, simulate):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError, match="an existing table") as caught:
                await conn.execute("ALTER TABLE nothere ADD COLUMN x INT")
            tag = await conn.execute("CREATE TABLE t2 (ts TIMESTAMP, x INT) timestamp(ts) PARTITION BY DAY WAL")
            dropped = await conn.execute("DROP TABLE t2")
            return caught.value.query, tag, dropped, db.store("t2")

    assert simulate(main) == ("ALTER TABLE nothere ADD COLUMN x INT", "CREATE TABLE", "DROP TABLE", None)


def test_rename_and_drop_column_keep_the_other_values(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.execute(INSERT_ORDER, *ORDERS[0])
            await conn.execute("ALTER TABLE orders RENAME COLUMN price TO limit_price")
            await conn.execute("ALTER TABLE orders DROP COLUMN side")
            return dict((await conn.fetchrow("SELECT order_id, limit_price, quantity FROM orders")).items())

    assert simulate(main) == {"order_id": "o1", "limit_price": 100.0, "quantity": 1.0}


def test_load_rows_checks_types_and_names_row_and_column(db):
    with pytest.raises(DataError, match=r"load_rows\('market_data'\) row 1 column 'price': 'x' \(must be real"):
        db.load_rows("market_data", [("A", T0, 1.0, 1.0, 1.0), ("A", T0 + timedelta(seconds=1), "x", 1.0, 1.0)])
    with pytest.raises(DataError, match="row 0: expected the columns"):
        db.load_rows("market_data", [{"symbol": "A", "timestamp": T0, "venue": "x"}])
    with pytest.raises(KeyError, match="no table 'nope'"):
        db.load_rows("nope", [])


def test_replay_batches_use_the_index_not_a_scan(db, simulate):
    """A batch query must not evaluate a predicate per stored row: 3 symbols x 2000 rows are
    loaded, a 100-row batch of one symbol must touch about 100 rows."""
    db.load_rows("market_data", [(symbol, T0 + timedelta(seconds=n), 1.0, 1.0, 1.0)
                                 for n in range(2000) for symbol in ("A", "B", "C")])
    touched = 0
    original = db.store("market_data").run_for

    def counting_run_for(position, value):
        nonlocal touched
        run = original(position, value)
        touched = len(run.rows)
        return run

    db.store("market_data").run_for = counting_run_for
    query = ("SELECT symbol, timestamp, price, volume, quote_volume FROM market_data WHERE symbol = $1 "
             "AND timestamp >= $2 AND timestamp < $3 ORDER BY timestamp LIMIT $4, $5")

    async def main():
        async with db.acquire() as conn:
            return await conn.fetch(query, "B", T0 + timedelta(seconds=500), T0 + timedelta(seconds=1500), 100, 200)

    batch = simulate(main)
    assert [record["timestamp"] for record in batch] == [T0 + timedelta(seconds=600 + n) for n in range(100)]
    assert {record["symbol"] for record in batch} == {"B"}
    assert touched == 2000  # the B run only, not the 6000-row table; the range is then bisected
    assert db._plans[query][1].residual is None


def test_injected_faults_and_latency_are_seeded(migrations_schema, simulate):
    plan = FaultPlan.from_spec("db_error_rate=0.3,db_latency_ms=10")

    def outcomes(seed: int):
        db = SimQuestDB(migrations_schema, faults=plan, seed=seed)

        async def main():
            seen = []
            async with db.acquire() as conn:
                for _ in range(40):
                    try:
                        await conn.fetch("SELECT count() FROM orders")
                        seen.append("ok")
                    except TransientDatabaseError:
                        seen.append("fault")
            return seen, anyio.current_time()

        return simulate(main)

    first, elapsed = outcomes(1)
    assert outcomes(1) == (first, elapsed)
    assert outcomes(2)[0] != first
    assert 0 < first.count("fault") < 40
    assert elapsed == pytest.approx(40 * 0.010)


@pytest.mark.parametrize(("spec", "message", "stored"), [
    ("db_error_rate=1", "during", []),  # refused before it did anything
    ("db_ack_loss_rate=1", "took effect", ["o1"]),  # applied, then the reply was lost
])
def test_injected_transient_errors_before_and_after_the_statement(migrations_schema, simulate, spec, message,
                                                                   stored):
    db = SimQuestDB(migrations_schema, faults=FaultPlan.from_spec(spec))

    async def main():
        async with db.acquire() as conn:
            with pytest.raises(TransientDatabaseError, match=message):
                await conn.execute(INSERT_ORDER, *ORDERS[0])
        return ids(db.table_rows("orders"))

    assert simulate(main) == stored
    assert db.statement_log[-1].error.startswith("TransientDatabaseError: injected fault")


def test_wait_for_wal_applies_writes_in_order(migrations_schema, simulate):
    db = SimQuestDB(migrations_schema, faults=FaultPlan.preset("db-lag"), seed=3)

    async def main():
        async with db.acquire() as conn:
            for number in range(20):
                await conn.execute("INSERT INTO orders (order_id, timestamp, quantity) VALUES ($1, $2, $3)",
                                   "same", T0, float(number))
        visible_before = len(db.table_rows("orders"))
        await db.wait_for_wal()
        return visible_before, db.table_rows("orders")

    visible_before, rows = simulate(main)
    assert visible_before == 0
    assert [row["quantity"] for row in rows] == [19.0]  # dedup: the last write wins after in-order apply


def test_apply_migrations_builds_an_empty_database_once(simulate):
    db = SimQuestDB(faults=FaultPlan.preset("db-lag"))

    async def main():
        await db.apply_migrations()
        columns = list(db.store("market_data").columns)
        with pytest.raises(DatabaseError, match="needs an empty database"):
            await db.apply_migrations()
        return columns

    assert simulate(main) == ["symbol", "timestamp", "price", "volume", "quote_volume"]


def test_limit_needs_integers(db, simulate):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError, match="LIMIT expects an integer, got None"):
                await conn.fetch("SELECT * FROM orders LIMIT $1, $2", 0, None)

    simulate(main)


def test_an_update_that_cannot_be_applied_fails_loudly(migrations_schema, simulate):
    lagged = SimQuestDB(migrations_schema, faults=FaultPlan.from_spec("db_lag_ms=10"))

    async def main(db):
        async with db.acquire() as conn:
            await conn.execute(INSERT_ORDER, *ORDERS[0])
            await db.wait_for_wal()
            await conn.execute("UPDATE orders SET price = price + status")
            await db.wait_for_wal()

    async def at_once():
        with pytest.raises(QueryError, match="cannot apply the change to orders"):
            await main(SimQuestDB(migrations_schema))

    async def through_the_wal():
        await main(lagged)

    simulate(at_once)
    simulate(through_the_wal)
    assert [(table, type(error)) for table, error in lagged.wal_failures] == [("orders", TypeError)]


def test_repeated_result_names_are_numbered(db, simulate):
    async def main():
        await seeded(db)
        async with db.acquire() as conn:
            return list((await conn.fetchrow("SELECT min(price), min(quantity), order_id, order_id FROM orders "
                                             "WHERE order_id = 'o1'")).items())

    assert simulate(main) == [("min", 100.0), ("min1", 1.0), ("order_id", "o1"), ("order_id1", "o1")]
