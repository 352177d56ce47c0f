"""The same checks against a real QuestDB (``questdb/questdb`` in Docker, PG wire on 8812).

Runs wherever a Docker engine answers; elsewhere every test here skips and the reason is
printed at the end of the run.  The PostgreSQL tier (the other files here) runs everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.migrations import load_schema
from sim.cli import main
from sim.harness.realdb import TRADING_TABLES, compare_schema, live_schema, load_ticks, migrate, replay, table_contents
from sim.harness.scenario import ScenarioSpec, migrations_dir
from sim.world.market import generate, load_into
from sim.world.ports import DEFAULT_EPOCH
from sim.world.questdb import SimQuestDB
from system.adapters.asyncpg_database import AsyncpgDatabase
from tests.real.runs import logged_run

SPEC = ScenarioSpec(mode="backtest", hours=0.25, sessions=2)


@pytest.fixture(scope="module")
def statements(questdb_dsn: str) -> list[tuple[str, tuple[Any, ...]]]:
    result, logged = logged_run(SPEC)
    assert result.clean
    return logged


@pytest.mark.anyio
async def test_questdb_answers_every_statement_of_a_run_like_the_simulator(
        questdb_dsn: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    database = await AsyncpgDatabase.connect(questdb_dsn)
    try:
        assert database.dialect == "questdb"
        await migrate(database)
        assert compare_schema(load_schema(migrations_dir()), await live_schema(database), dialect="questdb") == []
        ticks = generate(SPEC.symbols, start=DEFAULT_EPOCH, hours=SPEC.hours, seed=SPEC.seed)
        simulated = SimQuestDB.from_migrations()
        await load_into(simulated, ticks)
        await load_ticks(database, ticks)
        on_sim, on_questdb = await replay(simulated, statements), await replay(database, statements)
        for (query, args), mine, theirs in zip(statements, on_sim, on_questdb, strict=True):
            assert (mine.error, mine.rows) == (theirs.error, theirs.rows), (query, args)
        assert await table_contents(simulated) == await table_contents(database, TRADING_TABLES)
    finally:
        await database.close()


def test_simwire_run_db_against_questdb(questdb_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--db", questdb_dsn, "--hours", "0.1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dialect"] == "questdb"
