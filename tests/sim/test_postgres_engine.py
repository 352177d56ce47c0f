"""The simulated PostgreSQL (sim/world/postgres.py): PostgreSQL's own semantics on the simulated
QuestDB's machinery, migrated from ``dialect = "postgres"`` migrations; QuestDB's unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest

import sim
from contracts.config import MigrationsConfig, load_config
from sim.harness.spec import ScenarioSpec
from sim.harness.worlds import SimulatedWorld
from sim.world.postgres import ConstraintViolation, SimPostgres
from sim.world.questdb import SimQuestDB, statement_counts
from system.ports import DatabaseError, DataError, QueryError

ROOT = Path(__file__).resolve().parents[2]
RELAY = load_config(ROOT / "examples" / "relay" / "pyproject.toml").migrations
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SAVE_MESSAGE = "INSERT INTO messages (message_id, source, body, received_at) VALUES ($1, $2, $3, $4)"
SAVE_DELIVERY = "INSERT INTO deliveries (message_id, channel, delivered_at) VALUES ($1, $2, $3)"


def run(main):
    result = sim.run(main, kernel="asyncio", detectors=False, virtualize=True)
    result.raise_for_error()
    return result.value


async def relay_db() -> SimPostgres:
    db = SimPostgres()
    await db.apply_migrations(RELAY)
    return db


def test_relay_migrations_build_its_tables_with_their_column_rules():
    async def main():
        db = await relay_db()
        rules = db.rules
        return ({name: list(table.columns) for name, table in db.schema.tables.items()},
                sorted(rules["messages"].unique), rules["deliveries"].references[0])

    tables, unique, reference = run(main)
    # 003 dropped messages.channel after backfilling deliveries
    assert tables == {"messages": ["id", "message_id", "source", "body", "received_at"],
                      "deliveries": ["id", "message_id", "channel", "delivered_at"]}
    assert unique == ["messages_message_id_key", "messages_pkey"]
    assert (reference.columns, reference.parent, reference.parent_columns, reference.cascade) == (
        ("message_id",), "messages", ("message_id",), True)


def test_serial_defaults_timestamptz_and_jsonb_as_postgresql_answers_them():
    async def main():
        db = await relay_db()
        async with db.acquire() as conn:
            body = json.dumps({"text": "hi", "a": [1, {"bb": 2, "c": 1}]})
            tags = [await conn.execute(SAVE_MESSAGE, "m1", "github", body, T0.astimezone(timezone(timedelta(hours=5)))),
                    await conn.execute("INSERT INTO messages (message_id, source, body) VALUES ($1, $2, $3)",
                                       "m2", "grafana", "[]")]
            rows = await conn.fetch("SELECT id, message_id, body, received_at FROM messages ORDER BY id DESC")
        return tags, [dict(row.items()) for row in rows]

    tags, rows = run(main)
    assert tags == ["INSERT 0 1", "INSERT 0 1"]
    assert [row["id"] for row in rows] == [2, 1]  # SERIAL: a sequence per column
    assert rows[1]["received_at"] == T0 and rows[1]["received_at"].tzinfo == UTC  # stored and answered in UTC
    assert rows[0]["received_at"] == datetime(2024, 1, 1, tzinfo=UTC)  # DEFAULT now(): virtual time
    assert rows[1]["body"] == '{"a": [1, {"c": 1, "bb": 2}], "text": "hi"}'  # jsonb: keys shortest first


@pytest.mark.parametrize(("query", "args", "error", "words"), [
    (SAVE_MESSAGE, ("m1", "s", "{}", T0), ConstraintViolation,
     'duplicate key value violates unique constraint "messages_message_id_key"'),
    (SAVE_MESSAGE, ("m9", None, "{}", T0), ConstraintViolation,
     'null value in column "source" of relation "messages" violates not-null constraint'),
    (SAVE_MESSAGE, ("m9", "s", "{'a': 1}", T0), DataError, "invalid input syntax for type json"),
    (SAVE_DELIVERY, ("nope", "ops", T0), ConstraintViolation,
     'violates foreign key constraint "deliveries_message_id_fkey"'),
    (SAVE_MESSAGE, ("m9", "s", {"a": 1}, T0), DataError, "expected str, got dict"),
    ("SELECT message_id FROM messages WHERE channel = $1", ("ops",), QueryError, "channel"),
    ("INSERT INTO messages (message_id) VALUES ($1) ON CONFLICT DO NOTHING", ("m1",), QueryError,
     "the simulated PostgreSQL does not run INSERT ... ON CONFLICT statements: 'INSERT INTO messages"),
    ("TRUNCATE deliveries", (), QueryError, "does not run TRUNCATE statements: 'TRUNCATE deliveries'"),
])
def test_what_postgresql_refuses_is_refused_naming_it(query, args, error, words):
    async def main():
        db = await relay_db()
        async with db.acquire() as conn:
            await conn.execute(SAVE_MESSAGE, "m1", "s", "{}", T0)
            with pytest.raises(error) as raised:
                await conn.execute(query, *args)
        return str(raised.value), db.table_rows("messages")

    message, rows = run(main)
    assert words in message
    assert len(rows) == 1  # nothing half-applied


def test_delete_where_counts_rows_and_cascades_along_references():
    async def main():
        db = await relay_db()
        async with db.acquire() as conn:
            for message in ("m1", "m2"):
                await conn.execute(SAVE_MESSAGE, message, "s", "{}", T0)
            for day, (message, channel) in enumerate([("m1", "ops"), ("m1", "pager"), ("m2", "ops")]):
                await conn.execute(SAVE_DELIVERY, message, channel, T0 + timedelta(days=day))
            pruned = await conn.execute("DELETE FROM deliveries WHERE delivered_at < $1", T0 + timedelta(days=1))
            left = [(r["message_id"], r["channel"]) for r in await conn.fetch("SELECT * FROM deliveries")]
            cascaded = await conn.execute("DELETE FROM messages WHERE message_id = $1", "m1")
            after = [(r["message_id"], r["channel"]) for r in await conn.fetch("SELECT * FROM deliveries")]
        return pruned, left, cascaded, after

    assert run(main) == ("DELETE 1", [("m1", "pager"), ("m2", "ops")], "DELETE 1", [("m2", "ops")])


def test_statements_are_logged_observed_and_counted_as_on_the_simulated_questdb():
    async def main():
        db = await relay_db()
        seen = []

        class Observer:
            def on_statement(self, query, args, error):
                seen.append((query.split()[0], error is None))

        db.add_observer(Observer())
        async with db.acquire() as conn:
            await conn.execute(SAVE_MESSAGE, "m1", "s", "{}", T0)
            await conn.execute("DELETE FROM deliveries WHERE delivered_at < $1", T0)
        return seen, statement_counts(db.statement_log)

    assert run(main) == ([("INSERT", True), ("DELETE", True)], {"DELETE deliveries": 1, "INSERT messages": 1})


def test_a_reference_without_cascade_refuses_the_delete(tmp_path):
    (tmp_path / "001_parents.sql").write_text(
        "CREATE TABLE parents (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE children (id SERIAL PRIMARY KEY, parent BIGINT REFERENCES parents, label TEXT DEFAULT 'x');\n"
        "INSERT INTO parents (name) VALUES ('seeded');\n"
        "COMMENT ON TABLE children IS 'kept';\n")
    (tmp_path / "002_backfill.sql").write_text(
        "INSERT INTO children (parent) SELECT id FROM parents WHERE name IS NOT NULL;\n")

    async def main():
        db = SimPostgres()
        await db.apply_migrations(MigrationsConfig(paths=(tmp_path,), dialect="postgres"))
        children = db.table_rows("children")
        async with db.acquire() as conn:
            with pytest.raises(ConstraintViolation) as refused:
                await conn.execute("DELETE FROM parents")
        return children, str(refused.value), len(db.table_rows("parents"))

    children, message, parents = run(main)
    assert children == [{"id": 1, "parent": 1, "label": "x"}]  # the migration's data statements ran in order
    assert 'violates foreign key constraint "children_parent_fkey" on table "children"' in message
    assert parents == 1


def test_a_failing_migration_statement_names_its_file_and_line(tmp_path):
    (tmp_path / "001_t.sql").write_text("CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT NOT NULL);\n"
                                        "INSERT INTO t (v) VALUES (NULL);\n")

    async def main():
        with pytest.raises(DatabaseError) as failed:
            await SimPostgres().apply_migrations(MigrationsConfig(paths=(tmp_path,), dialect="postgres"))
        return str(failed.value)

    message = run(main)
    assert message.startswith(f"{tmp_path / '001_t.sql'}:2: migration statement failed")
    assert 'null value in column "v"' in message


def test_the_questdb_simulator_still_refuses_postgresql():
    async def main():
        db = SimQuestDB.from_migrations()
        async with db.acquire() as conn:
            with pytest.raises(QueryError) as refused:
                await conn.execute("DELETE FROM orders WHERE order_id = $1", "o1")
        return str(refused.value)

    assert "unexpected token [FROM]" in run(main)


def test_the_simulated_world_gives_a_postgres_target_the_simulated_postgresql():
    async def main():
        world = SimulatedWorld()
        questdb = (await world.ports(ScenarioSpec(mode="live"))).database
        ports = await world.ports(ScenarioSpec(mode="live"), RELAY)
        await world.migrate(ports.database, RELAY)
        return type(questdb).__name__, type(ports.database).__name__, sorted(ports.database.schema.tables)

    assert anyio.run(main) == ("SimQuestDB", "SimPostgres", ["deliveries", "messages"])
