"""The production adapter's own logic: settings, the PostgreSQL shim, errors, WAL waiting.

None of these needs a server: the shim is pure, errors are raised by hand, and the WAL wait
runs against the simulated QuestDB (it answers ``wal_tables()`` as QuestDB does) under the
deterministic kernel, so its lag is virtual time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio
import asyncpg.exceptions as pg
import pytest

import sim
from sim.world.faults import FaultPlan
from sim.world.questdb import SimQuestDB
from system.adapters.asyncpg_database import (
    POSTGRESQL,
    QUESTDB,
    AsyncpgConnection,
    AsyncpgDatabase,
    DatabaseSettings,
    is_missing_table,
    postgres_sql,
    translated_errors,
)
from system.errors import ConfigError
from system.persistence import statements
from system.ports import DataError, QueryError, TransientDatabaseError


def test_settings_come_from_the_environment_and_the_flag_wins() -> None:
    environ = {"SIMWIRE_DB_DSN": "postgresql://admin:quest@db:8812/qdb", "SIMWIRE_DB_POOL_MAX": "4",
               "SIMWIRE_DB_WAL_TIMEOUT": "2.5"}
    settings = DatabaseSettings.from_env(environ)
    assert (settings.dsn, settings.max_size, settings.wal_timeout) == ("postgresql://admin:quest@db:8812/qdb", 4, 2.5)
    assert DatabaseSettings.from_env(environ, dsn="postgresql://h/other").dsn == "postgresql://h/other"


@pytest.mark.parametrize(("environ", "field"), [
    ({}, "SIMWIRE_DB_DSN"),
    ({"SIMWIRE_DB_DSN": "postgresql://h/d", "SIMWIRE_DB_POOL_MIN": "two"}, "SIMWIRE_DB_POOL_MIN"),
    ({"SIMWIRE_DB_DSN": "mysql://h/d"}, "DatabaseSettings.dsn"),
    ({"SIMWIRE_DB_DSN": "postgresql://h/d", "SIMWIRE_DB_POOL_MIN": "5", "SIMWIRE_DB_POOL_MAX": "2"},
     "DatabaseSettings.max_size"),
    ({"SIMWIRE_DB_DSN": "postgresql://h/d", "SIMWIRE_DB_WAL_TIMEOUT": "0"}, "DatabaseSettings.wal_timeout"),
])
def test_bad_settings_name_the_variable_or_field(environ: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DatabaseSettings.from_env(environ)
    assert caught.value.field == field


def test_the_shim_rewrites_only_what_postgresql_reads_differently() -> None:
    assert postgres_sql(statements.INSERT_ORDER) is statements.INSERT_ORDER
    assert postgres_sql("CREATE TABLE t (a int)") == "CREATE TABLE t (a int)"
    assert postgres_sql(statements.COUNT_MARKET_DATA) == (
        "SELECT COUNT(*) FROM market_data WHERE symbol IS NOT DISTINCT FROM $1 AND timestamp >= $2 AND timestamp < $3")
    assert postgres_sql(statements.SELECT_MARKET_DATA_BATCH).endswith(
        "ORDER BY timestamp NULLS FIRST LIMIT GREATEST(CAST($5 AS BIGINT) - CAST($4 AS BIGINT), 0)"
        " OFFSET CAST($4 AS BIGINT)")
    assert postgres_sql(statements.UPDATE_ORDER_STATUS) == (
        "UPDATE orders SET status = $1 WHERE order_id IS NOT DISTINCT FROM $2 AND session_id IS NOT DISTINCT FROM $3")
    assert postgres_sql("SELECT a FROM t WHERE b <> 1 ORDER BY a DESC LIMIT 2 OFFSET 1") == (
        "SELECT a FROM t WHERE b IS DISTINCT FROM 1 ORDER BY a DESC NULLS LAST LIMIT 2 OFFSET 1")


class Connection:
    """Records what reaches the driver."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.seen.append(query)
        return []


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "rewritten"), [(QUESTDB, False), (POSTGRESQL, True)])
async def test_the_shim_applies_to_postgresql_only(dialect: str, rewritten: bool) -> None:
    driver = Connection()
    await AsyncpgConnection(driver, dialect).fetch(statements.COUNT_MARKET_DATA, "A", None, None)
    assert (driver.seen[0] != statements.COUNT_MARKET_DATA) is rewritten


def test_a_wrong_argument_count_is_a_data_error_as_in_the_simulator() -> None:
    with pytest.raises(DataError, match="expects 3 arguments"), translated_errors("INSERT"):
        raise pg.InterfaceError("the server expects 3 arguments for this query, 2 were passed")
    with pytest.raises(QueryError, match="cannot perform operation"), translated_errors("SELECT 1"):
        raise pg.InterfaceError("cannot perform operation: another operation is in progress")


def test_questdb_errors_are_told_apart_by_message_alone() -> None:
    """Every QuestDB error has sqlstate 00000 (questdb-facts.md): the message decides."""
    def questdb_error(message: str) -> pg.UnknownPostgresError:
        error = pg.UnknownPostgresError(message)
        error.sqlstate = "00000"  # type: ignore[attr-defined]
        return error

    with pytest.raises(TransientDatabaseError, match="table busy"), translated_errors("INSERT"):
        raise questdb_error("table busy [reason=insert]")
    with pytest.raises(QueryError, match="Invalid column: nope"), translated_errors("SELECT nope FROM t"):
        raise questdb_error("Invalid column: nope")


def test_missing_tables_are_recognised_by_message_on_both_servers() -> None:
    assert is_missing_table(QueryError("table does not exist [table=orders]"))  # QuestDB, sqlstate 00000
    assert is_missing_table(QueryError('relation "orders" does not exist'))  # PostgreSQL
    assert not is_missing_table(QueryError("Invalid column: nope"))


def test_wait_for_wal_returns_once_questdb_applied_every_write() -> None:
    """The adapter over the simulator (which answers ``wal_tables()`` like QuestDB), lag 20-200 ms."""

    async def main() -> tuple[int, int, float]:
        database = AsyncpgDatabase(SimQuestDB.from_migrations(faults=FaultPlan.preset("db-lag"), seed=3))
        async with database.acquire() as connection:
            await connection.execute("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)", "o1",
                                     datetime(2024, 1, 1))
            before = await connection.fetchval("SELECT count() FROM orders")
        started = anyio.current_time()
        await database.wait_for_wal()
        async with database.acquire() as connection:
            after = await connection.fetchval("SELECT count() FROM orders")
        return before, after, anyio.current_time() - started

    result = sim.run(main, seed=1)
    assert result.error is None
    before, after, waited = result.value
    assert (before, after) == (0, 1) and 0.02 <= waited <= 0.2


def test_wait_for_wal_gives_up_after_the_timeout() -> None:
    async def main() -> None:
        plan = FaultPlan.from_spec("db-lag,db_lag_ms=5000..5000")
        database = AsyncpgDatabase(SimQuestDB.from_migrations(faults=plan, seed=3), wal_timeout=1.0)
        async with database.acquire() as connection:
            await connection.execute("INSERT INTO orders (order_id, timestamp) VALUES ($1, $2)", "o1",
                                     datetime(2024, 1, 1))
        await database.wait_for_wal()

    result = sim.run(main, seed=1)
    assert "did not catch up within 1.0 s" in str(result.error)
