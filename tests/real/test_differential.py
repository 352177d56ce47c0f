"""Differential test (1): the statements of whole runs, on the simulated QuestDB and on PostgreSQL.

Each mode's short run is made on the simulator as usual; its ``statement_log`` is then
replayed, statement by statement, on a fresh simulator and on a real PostgreSQL server
migrated through ``contracts.postgres_ddl``.  Both must accept or reject each statement,
return the same rows to every SELECT, and end with the same table contents.
"""

from __future__ import annotations

from typing import Any

import pytest

import sim.world.questdb
from sim.harness.realdb import TRADING_TABLES, load_ticks, replay, table_contents
from sim.harness.scenario import ScenarioSpec, migrations_dir
from sim.world.market import generate, load_into
from sim.world.ports import DEFAULT_EPOCH
from tests.real.runs import logged_run

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["backtest", "paper", "live"])
def run(request: pytest.FixtureRequest) -> tuple[ScenarioSpec, list[tuple[str, tuple[Any, ...]]]]:
    """A short two-session run of one mode and its statements (sync: the kernel owns its loop)."""
    spec = ScenarioSpec(mode=request.param, hours=0.5, sessions=2)
    result, statements = logged_run(spec)
    assert result.clean, [v.render() for v in result.violations]
    return spec, statements


async def test_every_statement_of_a_run_agrees(run: tuple[ScenarioSpec, list[Any]], pg_database: Any) -> None:
    spec, statements = run
    mode = spec.mode
    assert len(statements) > 20 and any(q.startswith("UPDATE") for q, _ in statements)

    simulated = sim.world.questdb.SimQuestDB()
    await simulated.apply_migrations(migrations_dir())
    if mode == "backtest":
        ticks = generate(spec.symbols, start=DEFAULT_EPOCH, hours=spec.hours, tick_seconds=spec.tick_seconds,
                         seed=spec.seed)
        await load_into(simulated, ticks)
        await load_ticks(pg_database, ticks)

    on_sim = await replay(simulated, statements)
    on_pg = await replay(pg_database, statements)
    for (query, args), mine, theirs in zip(statements, on_sim, on_pg, strict=True):
        assert (mine.error, mine.rows) == (theirs.error, theirs.rows), (query, args, mine, theirs)
    assert not any(outcome.error for outcome in on_sim), "the system's own statements all succeed"

    tables = (*TRADING_TABLES, "market_data")
    sim_tables, pg_tables = await table_contents(simulated, tables), await table_contents(pg_database, tables)
    assert sim_tables == pg_tables
    assert all(sim_tables[name] for name in ("sessions", "strategy_signals", "orders"))
