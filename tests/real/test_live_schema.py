"""Schema snapshot from a live server: introspected after migrations, compared with the model.

The same comparison runs on PostgreSQL (``information_schema``) and on the simulated QuestDB
(``tables()``/``table_columns()``, the code path a real QuestDB takes).
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.migrations import load_schema
from contracts.postgres_ddl import render_schema
from sim.harness.realdb import (
    RealDatabaseError,
    compare_schema,
    existing_tables,
    live_schema,
    migrate,
    split_statements,
)
from sim.harness.scenario import migrations_dir
from sim.world.questdb import SimQuestDB

pytestmark = pytest.mark.anyio


def rules(violations: list[Any]) -> list[tuple[str, str]]:
    return sorted((v.rule, v.message) for v in violations)


async def test_a_migrated_postgres_matches_the_model(pg_database: Any) -> None:
    live = await live_schema(pg_database)
    assert compare_schema(load_schema(migrations_dir()), live, dialect="postgresql") == []
    assert live["orders"].dedup_trigger and not live["orders"].columns["timestamp"].nullable


async def test_drift_on_postgres_is_a_violation_per_difference(pg_database: Any) -> None:
    async with pg_database.acquire() as connection:
        await connection.execute("ALTER TABLE orders ADD COLUMN note text")
        await connection.execute("ALTER TABLE orders DROP COLUMN signal_id")
        await connection.execute("ALTER TABLE positions ALTER COLUMN quantity TYPE text")
        await connection.execute("DROP TRIGGER sessions_dedup_upsert ON sessions")
        await connection.execute("DROP TABLE market_data")
    found = compare_schema(load_schema(migrations_dir()), await live_schema(pg_database), dialect="postgresql")
    assert [v.rule for v in sorted(found, key=lambda v: v.rule)] == [
        "schema.live-column-missing", "schema.live-column-type", "schema.live-column-unexpected",
        "schema.live-semantics", "schema.live-table-missing"]
    by_rule = {v.rule: v for v in found}
    assert by_rule["schema.live-column-type"].expected == "double precision"
    assert by_rule["schema.live-column-type"].seen == "text"
    assert "orders.signal_id" in by_rule["schema.live-column-missing"].message
    assert "sessions" in by_rule["schema.live-semantics"].message


async def test_the_questdb_path_reads_designated_and_upsert_keys() -> None:
    """``live_schema`` on the simulator goes through ``tables()``/``table_columns()`` as on QuestDB."""
    database = SimQuestDB()
    assert await migrate(database) == sorted(load_schema(migrations_dir()).tables)
    assert await migrate(database) == []
    model = load_schema(migrations_dir())
    assert compare_schema(model, await live_schema(database), dialect="questdb") == []
    model.tables["orders"].dedup_keys = ("timestamp",)
    (found,) = compare_schema(model, await live_schema(database), dialect="questdb")
    assert found.rule == "schema.live-semantics" and "order_id" in found.seen


async def test_a_half_migrated_database_is_refused(pg_dsn: str) -> None:
    from system.adapters.asyncpg_database import AsyncpgDatabase

    database = await AsyncpgDatabase.connect(pg_dsn)
    try:
        async with database.acquire() as connection:
            await connection.execute("CREATE TABLE orders (order_id text)")
        with pytest.raises(RealDatabaseError, match="but not market_data, positions, sessions, strategy_signals"):
            await migrate(database)
        assert await existing_tables(database) == {"orders"}
    finally:
        await database.close()


def test_migration_files_split_into_statements() -> None:
    script = (migrations_dir() / "019_recreate_trading_tables_with_session.sql").read_text()
    statements = split_statements(script)
    assert [s.split("(")[0].split()[:3] for s in statements] == [
        ["DROP", "TABLE", "IF"], ["DROP", "TABLE", "IF"], ["DROP", "TABLE", "IF"],
        ["CREATE", "TABLE", "strategy_signals"], ["CREATE", "TABLE", "orders"], ["CREATE", "TABLE", "positions"]]
    assert split_statements("-- only a comment; with a semicolon\n") == []


def test_rendered_ddl_keeps_the_semantics() -> None:
    ddl = render_schema(load_schema(migrations_dir()))
    assert '"timestamp" timestamp without time zone NOT NULL' in ddl
    assert 'DELETE FROM "orders" WHERE "timestamp" = NEW."timestamp" AND "order_id" IS NOT DISTINCT FROM' in ddl
    assert 'BEFORE UPDATE OF "started_at"' in ddl


def test_a_type_without_a_faithful_equivalent_is_refused_by_name() -> None:
    from contracts.postgres_ddl import UnsupportedType
    from contracts.schema import Schema, apply_ddl

    schema = Schema()
    apply_ddl(schema, "CREATE TABLE places (ts TIMESTAMP, cell GEOHASH(8c)) timestamp(ts);", source="x.sql")
    with pytest.raises(UnsupportedType, match=r"places\.cell: QuestDB type GEOHASH"):
        render_schema(schema)
