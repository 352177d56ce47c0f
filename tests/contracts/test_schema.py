"""The schema model: QuestDB DDL replayed into tables, and every broken migration named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.migrations import load_schema
from contracts.schema import Column, MigrationError, Schema, apply_ddl

REPO = Path(__file__).resolve().parents[2]

SIGNALS = """
-- the report's migration 019 table
CREATE TABLE IF NOT EXISTS strategy_signals (
    signal_id STRING,
    session_id SYMBOL capacity 2048 CACHE,   /* per-session isolation */
    symbol SYMBOL CAPACITY 256 NOCACHE INDEX CAPACITY 1024,
    timestamp TIMESTAMP,
    price DOUBLE,
    curve DOUBLE[],
    cell GEOHASH(8c)
) timestamp(timestamp) PARTITION BY DAY WAL
WITH maxUncommittedRows=1000, o3MaxLag=10s
DEDUP UPSERT KEYS(timestamp, signal_id);
"""


def schema_of(sql: str) -> Schema:
    schema = Schema()
    apply_ddl(schema, sql, source="m.sql")
    return schema


def error_of(sql: str, schema: Schema | None = None) -> MigrationError:
    with pytest.raises(MigrationError) as caught:
        apply_ddl(schema or Schema(), sql, source="m.sql")
    return caught.value


def test_create_table_models_columns_in_order_with_table_options():
    table = schema_of(SIGNALS).tables["strategy_signals"]
    assert [(c.name, c.type) for c in table.columns.values()] == [
        ("signal_id", "STRING"), ("session_id", "SYMBOL"), ("symbol", "SYMBOL"), ("timestamp", "TIMESTAMP"),
        ("price", "DOUBLE"), ("curve", "DOUBLE[]"), ("cell", "GEOHASH(8c)"),
    ]
    assert (table.designated_timestamp, table.partition_by, table.wal) == ("timestamp", "DAY", True)
    assert table.dedup_keys == ("timestamp", "signal_id")
    assert table.columns["symbol"].indexed and not table.columns["session_id"].indexed
    assert table.columns["session_id"].source == "m.sql:5"
    assert table.source == "m.sql:3"


def test_names_are_case_insensitive_and_stored_lower_case():
    table = schema_of('CREATE TABLE Trades ("Price" double, TS timestamp) TIMESTAMP(ts) PARTITION BY HOUR BYPASS WAL;'
                      ).tables["trades"]
    assert list(table.columns) == ["price", "ts"]
    assert table.columns["price"] == Column("price", "DOUBLE", "m.sql:1")
    assert table.wal is False


def test_alter_table_adds_drops_renames_and_toggles_dedup():
    schema = schema_of(SIGNALS)
    kinds = apply_ddl(schema, """
        ALTER TABLE strategy_signals ADD COLUMN strategy_id SYMBOL, triggered BOOLEAN;
        ALTER TABLE strategy_signals ADD COLUMN IF NOT EXISTS triggered BOOLEAN;
        ALTER TABLE strategy_signals DROP COLUMN curve, cell;
        ALTER TABLE strategy_signals RENAME COLUMN price TO signal_price;
        ALTER TABLE strategy_signals DEDUP DISABLE;
        ALTER TABLE strategy_signals DEDUP ENABLE UPSERT KEYS(timestamp, session_id);
        DROP TABLE IF EXISTS no_such_table;
    """, source="020.sql")
    assert kinds == ["ADD COLUMN", "ADD COLUMN", "DROP COLUMN", "RENAME COLUMN", "DEDUP DISABLE", "DEDUP ENABLE",
                     "DROP TABLE"]
    table = schema.tables["strategy_signals"]
    assert list(table.columns) == ["signal_id", "session_id", "symbol", "timestamp", "signal_price", "strategy_id",
                                   "triggered"]
    assert table.columns["strategy_id"].source == "020.sql:2"
    assert table.dedup_keys == ("timestamp", "session_id")


def test_a_failing_alter_leaves_the_table_as_it_was():
    schema = schema_of(SIGNALS)
    before = list(schema.tables["strategy_signals"].columns)
    with pytest.raises(MigrationError, match="unknown column 'nope'"):
        apply_ddl(schema, "ALTER TABLE strategy_signals DROP COLUMN price, nope;", source="m.sql")
    with pytest.raises(MigrationError, match="a QuestDB column type"):
        apply_ddl(schema, "ALTER TABLE strategy_signals ADD COLUMN a INT, b FOO;", source="m.sql")
    assert list(schema.tables["strategy_signals"].columns) == before


def test_alter_keeps_the_table_object_and_drop_create_replaces_it():
    # Identity is how consumers (the simulated QuestDB's row stores) tell ALTER from re-creation.
    schema = schema_of(SIGNALS)
    table = schema.tables["strategy_signals"]
    apply_ddl(schema, "ALTER TABLE strategy_signals ADD COLUMN extra INT;", source="m.sql")
    assert schema.tables["strategy_signals"] is table and "extra" in table.columns
    apply_ddl(schema, "DROP TABLE strategy_signals; CREATE TABLE strategy_signals (a INT);", source="m.sql")
    assert schema.tables["strategy_signals"] is not table


def test_drop_table_then_recreate_replaces_the_model():
    schema = schema_of(SIGNALS)
    apply_ddl(schema, "DROP TABLE strategy_signals; CREATE TABLE strategy_signals (a INT);", source="019.sql")
    assert list(schema.tables["strategy_signals"].columns) == ["a"]


def test_create_if_not_exists_keeps_the_existing_table():
    schema = schema_of(SIGNALS)
    apply_ddl(schema, "CREATE TABLE IF NOT EXISTS strategy_signals (only INT);", source="again.sql")
    assert "only" not in schema.tables["strategy_signals"].columns


@pytest.mark.parametrize(("sql", "line", "expected", "seen"), [
    ("CREATE TABLE t (\n  a INT,\n  b FOO\n);", 3, "a QuestDB column type", "'FOO'"),
    ("CREATE TABLE t (a INT, b INT", 1, "',' or ')' after a column definition", "end of statement"),
    ("CREATE TABLE t (a INT,\n a LONG);", 2, "a new column name in table 't'", "duplicate column 'a'"),
    ("CREATE TABLE t (a INT, ts TIMESTAMP)\n timestamp(a) PARTITION BY DAY;", 2,
     "a TIMESTAMP column as the designated timestamp", "'a' of type INT"),
    ("CREATE TABLE t (a INT) timestamp(nope);", 1, "timestamp(col) naming a column of 't'", "unknown column 'nope'"),
    ("CREATE TABLE t (ts TIMESTAMP) timestamp(ts) PARTITION BY FORTNIGHT;", 1, "a partition unit", "'FORTNIGHT'"),
    ("CREATE TABLE t (ts TIMESTAMP) timestamp(ts) WAL;", 1, "PARTITION BY HOUR|DAY|WEEK|MONTH|YEAR on a WAL table",
     "WAL with PARTITION BY NONE"),
    ("CREATE TABLE t (a INT, ts TIMESTAMP) timestamp(ts) PARTITION BY DAY WAL\n DEDUP UPSERT KEYS(a);", 2,
     "dedup keys including the designated timestamp 'ts'", "KEYS(a)"),
    ("CREATE TABLE t (a INT, ts TIMESTAMP) timestamp(ts) PARTITION BY DAY BYPASS WAL DEDUP UPSERT KEYS(ts, a);", 1,
     "DEDUP on a WAL table", "DEDUP on non-WAL table 't'"),
    ("CREATE TABLE t (a INT CAPACITY 5);", 1, "no SYMBOL option for a INT column", "'CAPACITY'"),
    ("CREATE TABLE t (a INT) garbage;", 1, "end of statement (';')", "'garbage'"),
    ("CREATE TABLE t AS (SELECT 1);", 1, "a statement the schema model applies", "CREATE TABLE ... AS"),
    ("INSRT INTO t VALUES (1);", 1, "a statement QuestDB accepts", "'INSRT'"),
    ("ALTER TABLE missing ADD COLUMN a INT;", 1, "an existing table", "unknown table 'missing'"),
    ("DROP TABLE missing;", 1, "an existing table to drop", "unknown table 'missing'"),
    ("/* unterminated comment\nCREATE TABLE t (a INT);", 2, "well-formed SQL text", "Error"),
])
def test_broken_ddl_names_file_line_expected_and_seen(sql, line, expected, seen):
    error = error_of(sql)
    assert (error.file, error.line) == ("m.sql", line)
    assert expected in error.expected and seen in error.seen
    assert str(error).startswith(f"m.sql:{line}: expected ")


@pytest.mark.parametrize(("sql", "expected", "seen"), [
    ("ALTER TABLE strategy_signals ADD COLUMN price DOUBLE;", "a new column name", "duplicate column 'price'"),
    ("ALTER TABLE strategy_signals DROP COLUMN nope;", "a column of 'strategy_signals' to drop", "unknown column"),
    ("ALTER TABLE strategy_signals DROP COLUMN timestamp;", "not the designated timestamp or a dedup key",
     "the designated timestamp"),
    ("ALTER TABLE strategy_signals DROP COLUMN signal_id;", "not the designated timestamp or a dedup key",
     "a dedup key"),
    ("ALTER TABLE strategy_signals RENAME COLUMN price TO symbol;", "a new column name", "existing column 'symbol'"),
    ("ALTER TABLE strategy_signals DEDUP ENABLE UPSERT KEYS(timestamp, nope);", "dedup keys naming columns",
     "unknown column 'nope'"),
    ("ALTER TABLE strategy_signals SQUASH;", "ADD COLUMN, DROP COLUMN", "'SQUASH'"),
    ("CREATE TABLE strategy_signals (a INT);", "a new table name (or IF NOT EXISTS)", "CREATE TABLE strategy_signals"),
])
def test_broken_alter_against_an_existing_table(sql, expected, seen):
    error = error_of(sql, schema_of(SIGNALS))
    assert expected in error.expected and seen in error.seen


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_load_schema_applies_files_in_numeric_order(tmp_path):
    # 010 sorts before 002 as text; numeric order must win or the ALTER hits a missing table.
    directory = write_migrations(tmp_path, {f"{n:03d}_step.sql": "" for n in range(3, 10)} | {
        "001_create.sql": "CREATE TABLE t (a INT);",
        "002_add.sql": "ALTER TABLE t ADD COLUMN b INT;",
        "010_drop.sql": "ALTER TABLE t DROP COLUMN a;",
        "README.md": "not a migration",
    })
    assert list(load_schema(directory).tables["t"].columns) == ["b"]


@pytest.mark.parametrize(("files", "expected", "seen"), [
    ({"001_a.sql": "", "001_b.sql": ""}, "one migration per number", "number 1 shared by 001_a.sql, 001_b.sql"),
    ({"001_a.sql": "", "latest.sql": ""}, "a file name starting with its number", "'latest.sql'"),
    ({}, "at least one numbered .sql migration", "none"),
])
def test_load_schema_rejects_duplicates_and_stray_files(tmp_path, files, expected, seen):
    with pytest.raises(MigrationError) as caught:
        load_schema(write_migrations(tmp_path, files))
    assert expected in caught.value.expected and seen in caught.value.seen


def test_load_schema_error_points_into_the_broken_file(tmp_path):
    write_migrations(tmp_path, {"001_a.sql": "CREATE TABLE t (a INT);", "002_b.sql": "\n\nALTER TABLE t ADD a INT;"})
    with pytest.raises(MigrationError, match=r"002_b\.sql:3: expected ADD COLUMN"):
        load_schema(tmp_path)


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(MigrationError, match="no such file or directory"):
        load_schema(tmp_path / "nope")


def test_the_systems_migrations_build_the_reports_tables():
    schema = load_schema(REPO / "system" / "migrations")
    for name, key in (("strategy_signals", "signal_id"), ("orders", "order_id"), ("positions", "position_id")):
        table = schema.tables[name]
        assert "session_id" in table.columns
        assert table.dedup_keys == ("timestamp", key)
    assert "signal_id" in schema.tables["orders"].columns
