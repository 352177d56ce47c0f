"""Every observation of /work/shared/questdb-facts.md, reproduced by the simulated QuestDB.

Each test names the fact it checks; a test that fails here means the simulator and a real
QuestDB 9.3 (through asyncpg 0.32) would disagree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import anyio
import pytest

from sim.world.faults import FaultPlan
from sim.world.questdb import SimQuestDB
from system.ports import DataError, QueryError

T0 = datetime(2025, 1, 6, 12, 0, 0)

DEDUP_TABLE = """
CREATE TABLE dedup_{kind} (timestamp TIMESTAMP, signal_id {kind}, value DOUBLE)
timestamp(timestamp) PARTITION BY DAY WAL DEDUP UPSERT KEYS(timestamp, signal_id)
"""
DEDUP_ROWS = [("a", 1.0), ("a", 2.0), (None, 3.0), (None, 4.0), ("b", 5.0)]


# --- DEDUP UPSERT KEYS ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SYMBOL", "VARCHAR", "LONG"])
@pytest.mark.parametrize("batch", ["one multi-row INSERT", "separate INSERTs"])
def test_dedup_last_write_wins_and_null_matches_null(db, simulate, kind, batch):
    def key(value):
        return {"a": 1, "b": 2}.get(value) if kind == "LONG" else value

    async def main():
        async with db.acquire() as conn:
            await conn.execute(DEDUP_TABLE.format(kind=kind))
            if batch == "one multi-row INSERT":
                tuples = ",".join(f"(${3 * n + 1},${3 * n + 2},${3 * n + 3})" for n in range(len(DEDUP_ROWS)))
                await conn.execute(f"INSERT INTO dedup_{kind} VALUES {tuples}",
                                   *[v for sid, value in DEDUP_ROWS for v in (T0, key(sid), value)])
            else:
                for sid, value in DEDUP_ROWS:
                    await conn.execute(f"INSERT INTO dedup_{kind} VALUES ($1, $2, $3)", T0, key(sid), value)
            return await conn.fetch(f"SELECT signal_id, value FROM dedup_{kind}")

    rows = simulate(main)
    expected = {(key(s), v) for s, v in [("a", 2.0), (None, 4.0), ("b", 5.0)]}
    assert {tuple(row) for row in rows} == expected
    assert len(rows) == 3


def test_update_may_change_a_dedup_key_but_not_the_designated_timestamp(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.execute(DEDUP_TABLE.format(kind="SYMBOL"))
            await conn.execute("INSERT INTO dedup_SYMBOL VALUES ($1, $2, $3)", T0, "a", 1.0)
            await conn.execute("UPDATE dedup_SYMBOL SET signal_id = $1 WHERE signal_id = $2", "z", "a")
            with pytest.raises(QueryError) as caught:
                await conn.execute("UPDATE dedup_SYMBOL SET timestamp = $1", T0)
            return await conn.fetch("SELECT signal_id FROM dedup_SYMBOL"), caught.value

    rows, error = simulate(main)
    assert [row["signal_id"] for row in rows] == ["z"]
    assert str(error) == "Designated timestamp column cannot be updated"
    assert error.query == "UPDATE dedup_SYMBOL SET timestamp = $1"
    assert error.position == error.query.index("timestamp") + 1


def test_designated_timestamp_cannot_be_null_on_insert(db, simulate):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError, match=r"^designated timestamp column cannot be NULL$"):
                await conn.execute("INSERT INTO market_data (symbol, timestamp, price) VALUES ($1, $2, $3)",
                                   "BTC_USDT", None, 1.0)
            with pytest.raises(QueryError, match=r"^designated timestamp column cannot be NULL$"):
                await conn.execute("INSERT INTO market_data (symbol, price) VALUES ($1, $2)", "BTC_USDT", 1.0)
            return await conn.fetchval("SELECT count() FROM market_data")

    assert simulate(main) == 0


# --- WAL tables apply asynchronously ----------------------------------------------------------


def lagged(schema) -> SimQuestDB:
    return SimQuestDB(schema, faults=FaultPlan.from_spec("db_lag_ms=50"))


def test_wal_update_is_acknowledged_before_it_is_visible(migrations_schema, simulate):
    db = lagged(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            await conn.execute("INSERT INTO market_data (symbol, timestamp, price) VALUES ($1, $2, $3)",
                               "BTC_USDT", T0, 1.0)
            before_insert_applied = await conn.fetchval("SELECT count() FROM market_data")
            await db.wait_for_wal()
            await conn.execute("UPDATE market_data SET price = $1 WHERE symbol = $2", 2.0, "BTC_USDT")
            right_after = await conn.fetchval("SELECT price FROM market_data")
            await anyio.sleep(0.049)
            still_before_lag = await conn.fetchval("SELECT price FROM market_data")
            await anyio.sleep(0.002)
            after_lag = await conn.fetchval("SELECT price FROM market_data")
            return before_insert_applied, right_after, still_before_lag, after_lag

    assert simulate(main) == (0, 1.0, 1.0, 2.0)


def test_show_columns_after_add_column_waits_for_the_wal(migrations_schema, simulate):
    db = lagged(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            await conn.execute("ALTER TABLE market_data ADD COLUMN venue SYMBOL")
            right_after = [row["column"] for row in await conn.fetch("SHOW COLUMNS FROM market_data")]
            await db.wait_for_wal()
            caught_up = [row["column"] for row in await conn.fetch("SHOW COLUMNS FROM market_data")]
            return right_after, caught_up

    right_after, caught_up = simulate(main)
    assert "venue" not in right_after
    assert caught_up == [*right_after, "venue"]


def test_wal_tables_shows_writer_catching_up_with_sequencer(migrations_schema, simulate):
    db = lagged(migrations_schema)
    query = "SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = 'orders'"

    async def main():
        async with db.acquire() as conn:
            for number in range(3):
                await conn.execute("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)", f"o{number}", T0)
            pending = tuple(await conn.fetchrow(query))
            await db.wait_for_wal()
            return pending, tuple(await conn.fetchrow(query))

    pending, caught_up = simulate(main)
    assert pending == (0, 3)
    assert caught_up == (3, 3)


def test_update_status_tag_is_a_transaction_number_on_wal_tables_and_a_count_otherwise(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.execute("CREATE TABLE plain (id SYMBOL, ts TIMESTAMP, v DOUBLE) timestamp(ts) BYPASS WAL")
            for number in range(3):
                await conn.execute("INSERT INTO plain VALUES ($1, $2, $3)", "x", T0 + timedelta(seconds=number), 1.0)
                await conn.execute("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)", "same", T0)
            plain = await conn.execute("UPDATE plain SET v = $1 WHERE id = $2", 2.0, "x")
            wal = await conn.execute("UPDATE orders SET price = $1 WHERE order_id = $2", 2.0, "same")
            return plain, wal

    plain, wal = simulate(main)
    assert plain == "UPDATE 3"
    assert wal == "UPDATE 4"  # the orders table's 4th transaction, although one row matched


# --- parameter types through asyncpg ----------------------------------------------------------

INSERT_TS = "INSERT INTO market_data (symbol, timestamp, price) VALUES ($1, $2, $3)"


@pytest.mark.parametrize(("value", "message"), [
    (datetime(2025, 1, 6, 12, tzinfo=UTC), "can't subtract offset-naive and offset-aware datetimes"),
    (datetime(2025, 1, 6, 12, tzinfo=timezone(timedelta(hours=2))),
     "can't subtract offset-naive and offset-aware datetimes"),
    (1704164645.5, "expected a datetime.date or datetime.datetime instance, got 'float'"),
    (1704164645, "expected a datetime.date or datetime.datetime instance, got 'int'"),
    ("2025-01-06T12:00:00", "expected a datetime.date or datetime.datetime instance, got 'str'"),
])
def test_timestamp_parameter_rejects_what_asyncpg_rejects(db, simulate, value, message):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(DataError) as caught:
                await conn.execute(INSERT_TS, "BTC_USDT", value, 1.0)
            return str(caught.value)

    text = simulate(main)
    assert text.startswith("invalid input for query argument $2: ")
    assert text.endswith(f"({message})")


def test_timestamp_parameter_stores_naive_datetimes_exactly_and_dates_at_midnight(db, simulate):
    exact = datetime(2025, 1, 6, 12, 34, 56, 789012)

    async def main():
        async with db.acquire() as conn:
            await conn.execute(INSERT_TS, "A", exact, 1.0)
            await conn.execute(INSERT_TS, "B", date(2025, 1, 7), 1.0)
            return [row["timestamp"] for row in await conn.fetch("SELECT timestamp FROM market_data")]

    assert simulate(main) == [exact, datetime(2025, 1, 7)]


def test_float_cast_to_timestamp_is_read_as_microseconds(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.execute("INSERT INTO market_data (symbol, timestamp) VALUES ($1, $2::timestamp)",
                               "BTC_USDT", 1704164645.5)
            return await conn.fetchval("SELECT timestamp FROM market_data")

    assert simulate(main) == datetime(1970, 1, 1, 0, 28, 24, 164645)


@pytest.mark.parametrize(("query", "value", "stored", "message"), [
    ("INSERT INTO market_data (symbol, timestamp, price) VALUES ('X', $2, $1)", 3, 3.0, None),
    ("INSERT INTO market_data (symbol, timestamp, price) VALUES ('X', $2, $1)", "3", None,
     "must be real number, not str"),
    ("INSERT INTO strategy_signals (signal_id, timestamp, triggered) VALUES ('s', $2, $1)", 1, None,
     "a boolean is required (got type int)"),
    ("INSERT INTO strategy_signals (signal_id, timestamp, metadata) VALUES ('s', $2, $1)", {"a": 1}, None,
     "expected str, got dict"),
    ("INSERT INTO orders (order_id, timestamp, symbol) VALUES ('o', $2, $1)", {"a": 1}, None,
     "expected str, got dict"),
])
def test_column_types_encode_like_asyncpg(db, simulate, query, value, stored, message):
    async def main():
        async with db.acquire() as conn:
            try:
                await conn.execute(query, value, T0)
            except DataError as error:
                return str(error)
            table = query.split()[2]
            column = query.split("(")[1].split(")")[0].split(", ")[2]
            return (await conn.fetchrow(f"SELECT {column} FROM {table}"))[0]

    outcome = simulate(main)
    if message is None:
        assert outcome == stored
        assert type(outcome) is type(stored)
    else:
        assert outcome == f"invalid input for query argument $1: {value!r} ({message})"


def test_long_column_accepts_a_float(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.execute("CREATE TABLE counters (ts TIMESTAMP, n LONG) timestamp(ts) PARTITION BY DAY WAL")
            await conn.execute("INSERT INTO counters VALUES ($1, $2)", T0, 5.5)
            return await conn.fetchval("SELECT n FROM counters")

    assert simulate(main) == 5  # asyncpg's int8 codec calls int() on it


# --- SQL dialect through the PG wire ----------------------------------------------------------


def test_supported_dialect(db, simulate):
    async def main():
        async with db.acquire() as conn:
            await conn.executemany(INSERT_TS, [("BTC_USDT", T0 + timedelta(seconds=n), float(n)) for n in range(10)])
            async with conn.transaction():
                await conn.execute(INSERT_TS, "ETH_USDT", T0, 100.0)
            await conn.execute("ALTER TABLE market_data ADD COLUMN venue SYMBOL")
            return (
                await conn.fetchval("SELECT count() FROM market_data"),
                await conn.fetchval("SELECT count(*) FROM market_data WHERE symbol = $1", "BTC_USDT"),
                [r[0] for r in await conn.fetch(
                    "SELECT price FROM market_data WHERE symbol = $1 AND timestamp >= $2 AND timestamp < $3 "
                    "ORDER BY timestamp LIMIT $4, $5", "BTC_USDT", T0 + timedelta(seconds=2),
                    T0 + timedelta(seconds=9), 2, 5)],
                [r[0] for r in await conn.fetch("SELECT price FROM market_data ORDER BY timestamp LIMIT 3")],
                [r[0] for r in await conn.fetch("SELECT price FROM market_data LIMIT 1, 3")],
                [r["column"] for r in await conn.fetch("SELECT * FROM table_columns('market_data')")],
            )

    count, btc, window, first3, lo_hi, columns = simulate(main)
    assert (count, btc) == (11, 10)
    assert window == [4.0, 5.0, 6.0]  # rows 3..5 of those from second 2 to 8
    assert first3 == [0.0, 100.0, 1.0]  # equal timestamps keep insertion order
    assert lo_hi == [100.0, 1.0]
    assert columns == ["symbol", "timestamp", "price", "volume", "quote_volume", "venue"]


def test_table_columns_describes_designated_timestamp_and_upsert_keys(db, simulate):
    async def main():
        async with db.acquire() as conn:
            return {r["column"]: (r["type"], r["designated"], r["upsertKey"])
                    for r in await conn.fetch("SELECT column, type, designated, upsertKey "
                                              "FROM table_columns('strategy_signals')")}

    described = simulate(main)
    assert described["timestamp"] == ("TIMESTAMP", True, True)
    assert described["signal_id"] == ("STRING", False, True)
    assert described["session_id"] == ("SYMBOL", False, False)


@pytest.mark.parametrize(("query", "message", "token"), [
    ("SELECT * FROM orders LIMIT 10 OFFSET 5", "unexpected token [OFFSET]", "OFFSET"),
    ("DELETE FROM orders WHERE order_id = $1", "unexpected token [FROM]", "FROM"),
    ("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2) ON CONFLICT DO NOTHING", "',' expected", "ON"),
    ("SELECT * FROM orders WHERE timestamp > $1::timestamptz", "invalid type: timestamptz", "timestamptz"),
])
def test_rejected_sql_carries_questdb_message_and_position(db, simulate, query, message, token):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError) as caught:
                await conn.execute(query, "x", T0)
            return caught.value

    error = simulate(main)
    assert str(error) == message
    assert error.query == query
    assert error.position == query.index(token) + 1


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message", "at"), [
    ("SELECT nope FROM orders", "Invalid column: nope", "nope"),
    ("SELECT order_id FROM orders WHERE nope = 1", "Invalid column: nope", "nope"),
    ("UPDATE orders SET nope = 1", "Invalid column: nope", "nope"),
    ("INSERT INTO orders (order_id, nope) VALUES ('a', 1)", "Invalid column: nope", "nope"),
    ("SELECT * FROM no_such_table", "table does not exist [table=no_such_table]", "no_such_table"),
    ("INSERT INTO no_such_table VALUES (1)", "table does not exist [table=no_such_table]", "no_such_table"),
    ("INSERT INTO market_data (symbol, timestamp, price) VALUES ('a', '2025-01-01', 1.0, 2.0)",
     "row value count does not match column count [expected=3, actual=4, tuple=1]", "("),
])
def test_server_errors_name_the_problem_with_statement_and_position(db, simulate, query, message, at):
    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError) as caught:
                await conn.execute(query)
            return caught.value

    error = simulate(main)
    assert str(error) == message
    assert error.query == query
    if at != "(":
        assert error.position == query.index(at) + 1


def test_version_reports_postgres_12_3_and_questdb(db, simulate):
    async def main():
        async with db.acquire() as conn:
            return await conn.fetchval("SELECT version()")

    version = simulate(main)
    assert version.startswith("PostgreSQL 12.3")
    assert "QuestDB" in version


def test_asyncpg_sees_server_version_11_3(db, simulate):
    async def main():
        async with db.acquire() as conn:
            return conn.get_server_version()

    assert simulate(main)[:2] == (11, 3)
