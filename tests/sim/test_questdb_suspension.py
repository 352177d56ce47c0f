"""WAL suspension in the simulated QuestDB, as a real server shows it (questdb-facts.md): a write
acknowledged, then failing when the WAL applies it, suspends the table until RESUME WAL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sim.world.faults import FaultPlan
from sim.world.questdb import SimQuestDB
from system.ports import QueryError

T0 = datetime(2025, 1, 6)
INSERT = ("INSERT INTO orders (order_id, session_id, symbol, side, timestamp, quantity, price, status) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
WAL_STATE = "SELECT name, suspended, writerTxn, sequencerTxn, errorMessage FROM wal_tables() WHERE name = 'orders'"


def order(number: int) -> tuple:
    return (f"o{number}", "s1", "BTC_USDT", "BUY", T0 + timedelta(seconds=number), 1.0, 100.0, "NEW")


def always_suspending(migrations_schema) -> SimQuestDB:
    """Every WAL write fails once at apply time."""
    return SimQuestDB(migrations_schema, faults=FaultPlan.from_spec("db_suspend_rate=1"))


def test_a_write_failing_at_apply_time_suspends_the_table_and_later_writes_queue(migrations_schema, simulate):
    db = always_suspending(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            tag = await conn.execute(INSERT, *order(1))  # acknowledged: the failure comes later
            await conn.execute(INSERT, *order(2))
            visible = await conn.fetchval("SELECT count() FROM orders")
            state = await conn.fetchrow(WAL_STATE)
        return tag, visible, dict(state)

    tag, visible, state = simulate(main)
    assert tag == "INSERT 0 1"
    assert visible == 0, "readers see the table as of the failure"
    assert state["suspended"] is True and state["writerTxn"] == 0 and state["sequencerTxn"] == 2
    assert "injected fault" in state["errorMessage"] and "txn=1" in state["errorMessage"]
    assert list(db.suspended_tables()) == ["orders"]
    assert db.suspended_tables()["orders"].sequencer_txn == 2


def test_resume_wal_retries_the_failed_transaction_and_applies_the_queue(migrations_schema, simulate):
    db = SimQuestDB(migrations_schema, faults=FaultPlan.from_spec("db_suspend_rate=1"))

    async def main():
        async with db.acquire() as conn:
            await conn.execute(INSERT, *order(1))
            db.faults = FaultPlan.preset("none")  # the cause is gone: the retry applies
            db._injector = db.faults.injector("db", 0)
            await conn.execute(INSERT, *order(2))
            for _ in range(3):  # the injected cause lasts one to three apply attempts
                await conn.execute("ALTER TABLE orders RESUME WAL")
            rows = await conn.fetch("SELECT order_id FROM orders")
            state = await conn.fetchrow(WAL_STATE)
        return [r["order_id"] for r in rows], dict(state)

    ids, state = simulate(main)
    assert ids == ["o1", "o2"], "nothing acknowledged is missing after RESUME WAL"
    assert state["suspended"] is False and state["writerTxn"] == state["sequencerTxn"] == 2
    assert db.suspended_tables() == {}


def test_resume_wal_from_txn_skips_the_failed_transaction(migrations_schema, simulate):
    db = SimQuestDB(migrations_schema, faults=FaultPlan.from_spec("db_suspend_rate=1"))

    async def main():
        async with db.acquire() as conn:
            await conn.execute(INSERT, *order(1))
            db._injector = FaultPlan.preset("none").injector("db", 0)
            await conn.execute(INSERT, *order(2))
            await conn.execute("ALTER TABLE orders RESUME WAL FROM TXN 2")
            return [r["order_id"] for r in await conn.fetch("SELECT order_id FROM orders")]

    assert simulate(main) == ["o2"]


def test_wait_for_wal_returns_while_a_table_stays_suspended(migrations_schema, simulate):
    db = always_suspending(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            await conn.execute(INSERT, *order(1))
        await db.wait_for_wal()  # must not wait forever
        return db.table_rows("orders")

    assert simulate(main) == []
    assert db.suspended_tables()["orders"].writer_txn == 0


def test_suspend_wal_and_resume_by_hand(migrations_schema, simulate):
    db = SimQuestDB(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            await conn.execute("ALTER TABLE orders SUSPEND WAL")
            await conn.execute(INSERT, *order(1))
            hidden = await conn.fetchval("SELECT count() FROM orders")
            await conn.execute("alter table orders resume wal;")
            return hidden, await conn.fetchval("SELECT count() FROM orders")

    assert simulate(main) == (0, 1)


@pytest.mark.parametrize(("statement", "message"), [
    ("ALTER TABLE nowhere RESUME WAL", "table does not exist"),
    ("ALTER TABLE orders RESUME WAL FROM TXN 9", "expected a transaction in 1..1"),
])
def test_bad_resume_statements_are_query_errors(migrations_schema, simulate, statement, message):
    db = SimQuestDB(migrations_schema)

    async def main():
        async with db.acquire() as conn:
            with pytest.raises(QueryError, match=message):
                await conn.execute(statement)

    simulate(main)


def test_the_cause_lasts_one_to_three_apply_attempts(migrations_schema, simulate):
    def resumes_needed(seed: int) -> int:
        db = SimQuestDB(migrations_schema, faults=FaultPlan.from_spec("db_suspend_rate=1"), seed=seed)

        async def main():
            async with db.acquire() as conn:
                await conn.execute(INSERT, *order(1))
                db._injector = FaultPlan.preset("none").injector("db", 0)
                resumes = 0
                while db.suspended_tables():
                    resumes += 1
                    await conn.execute("ALTER TABLE orders RESUME WAL")
                assert await conn.fetchval("SELECT count() FROM orders") == 1
                return resumes

        return simulate(main)

    assert {resumes_needed(seed) for seed in range(12)} == {1, 2, 3}


def test_suspension_draws_nothing_when_the_rate_is_zero(migrations_schema):
    """Plans without suspension replay exactly as before: the draw is skipped, not wasted."""
    plain = FaultPlan.from_spec("db_error_rate=0.3").injector("db", 5)
    with_field = FaultPlan.from_spec("db_error_rate=0.3,db_suspend_rate=0").injector("db", 5)
    assert [plain.fails() for _ in range(50)] == [(bool(with_field.suspends()) or with_field.fails())
                                                  for _ in range(50)]

