"""Differential test (2): generated rows and statements on the simulated QuestDB and PostgreSQL.

Hypothesis writes short programs against the real tables - INSERTs with duplicate dedup keys,
NULLs and parameters of the wrong type, UPDATEs (of the designated timestamp too), counts and
paged SELECTs - and each program runs on a fresh simulator and on PostgreSQL (tables emptied
in between).  Every statement must get the same answer from both: the same error class or the
same rows; and the tables must end equal.  Two things are kept out of the programs, as
docs/real-database.md explains: UPDATEs of a dedup-key column (two rows can end up with one
key, and what QuestDB does next is not observed), and orderings that leave ties (their order
is unspecified on both servers).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.migrations import load_schema
from sim.harness.realdb import replay, table_contents
from sim.harness.scenario import migrations_dir
from sim.world.questdb import SimQuestDB
from tests.real.postgres_server import PostgresServer, create_database, drop_database

Statement = tuple[str, tuple[Any, ...]]
TABLES = ("strategy_signals", "orders")
INSTANTS = [datetime(2024, 1, 2, 3, 4, 5, 6), datetime(2024, 1, 2, 3, 4, 5, 7), datetime(2024, 1, 3)]

# Few distinct keys, so that rows collide on dedup keys and NULL keys often; right values
# usually, and now and then what the system must never send (the wrong-type cases).
instants = st.sampled_from(INSTANTS)
ids = st.sampled_from(["a", None, "b"])
texts = st.one_of(st.sampled_from(["BUY", "x", "", "ünï"]), st.none())
doubles = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5), st.none())
wrong = st.sampled_from([1.5, 3, "2024-01-02", {"k": 1}, True, datetime(2024, 1, 2, tzinfo=UTC)])


def mostly(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(right, right, right, right, wrong)


def statement(query: str, *arguments: st.SearchStrategy[Any]) -> st.SearchStrategy[Statement]:
    return st.tuples(*arguments).map(lambda args: (query, args))


statements = st.one_of(
    statement("INSERT INTO strategy_signals (signal_id, timestamp, triggered, action) VALUES ($1, $2, $3, $4)",
              mostly(ids), mostly(instants), mostly(st.booleans()), mostly(texts)),
    statement("INSERT INTO strategy_signals (signal_id, timestamp, action) VALUES ($1, $2, $3), ($4, $5, $6)",
              ids, instants, texts, ids, instants, texts),
    statement("INSERT INTO orders (order_id, timestamp, quantity, session_id) VALUES ($1, $2, $3, $4)",
              mostly(ids), mostly(instants), mostly(doubles), mostly(ids)),
    statement("INSERT INTO orders (order_id, timestamp, quantity) VALUES ($1, $2, $3)", ids, instants),
    statement("UPDATE orders SET quantity = $1 WHERE order_id = $2 AND session_id = $3",
              mostly(doubles), ids, mostly(ids)),
    statement("UPDATE strategy_signals SET action = $1 WHERE signal_id <> $2", mostly(texts), ids),
    statement("UPDATE orders SET timestamp = $1 WHERE order_id = $2", instants, ids),
    statement("SELECT count() FROM orders WHERE session_id = $1", mostly(ids)),
    statement("SELECT signal_id, timestamp, action FROM strategy_signals ORDER BY signal_id DESC, timestamp"),
    statement("SELECT order_id, quantity FROM orders WHERE timestamp >= $1 ORDER BY order_id, timestamp"
              " LIMIT $2, $3", mostly(instants), st.integers(0, 3), st.integers(0, 4)),
)


@pytest.fixture(scope="module")
def pg_dsn_sync(postgres_server: PostgresServer) -> Iterator[str]:
    """One database for every example (emptied before each): creating one per example is slow."""
    dsn = create_database(postgres_server)
    yield dsn
    drop_database(postgres_server, dsn)


async def run_both(dsn: str, program: list[Statement]) -> None:
    from sim.harness.realdb import migrate
    from system.adapters.asyncpg_database import AsyncpgDatabase

    simulated = SimQuestDB(SCHEMA)
    real = await AsyncpgDatabase.connect(dsn)
    try:
        if not await migrate(real):
            async with real.acquire() as connection:
                await connection.execute(f"TRUNCATE {', '.join(TABLES)}")
        on_sim, on_pg = await replay(simulated, program), await replay(real, program)
        for (query, args), mine, theirs in zip(program, on_sim, on_pg, strict=True):
            assert (mine.error, mine.rows) == (theirs.error, theirs.rows), (query, args, mine, theirs)
        assert await table_contents(simulated, TABLES) == await table_contents(real, TABLES)
    finally:
        await real.close()


SCHEMA = load_schema(migrations_dir())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=st.lists(statements, min_size=1, max_size=15))
def test_generated_statements_get_the_same_answers(pg_dsn_sync: str, program: list[Statement]) -> None:
    anyio.run(run_both, pg_dsn_sync, program, backend="asyncio")
