"""Migrations as real code bases have them (issue 12 item 4): every statement QuestDB accepts
applies or is carried as a warning, refused ones name the accepted form, and nothing stops early."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from contracts.migrations import load_schema, parse_migrations
from contracts.schema import MigrationError
from contracts.snapshots import render_schema
from contracts.sqlcheck import check_statement
from simwire.violation import Severity

REPO = Path(__file__).resolve().parents[2]

CREATE = """
CREATE TABLE orders (
    order_id SYMBOL, symbol SYMBOL, side SYMBOL, price DOUBLE, quantity DOUBLE, note STRING,
    timestamp TIMESTAMP
) timestamp(timestamp) PARTITION BY DAY WAL TTL 30 DAYS DEDUP UPSERT KEYS(timestamp, order_id);
"""

# Every statement below is accepted by QuestDB in a migration (docs: questdb.com/docs/query/sql/).
ACCEPTED = """
ALTER TABLE orders ALTER COLUMN symbol ADD INDEX;
ALTER TABLE orders ALTER COLUMN side ADD INDEX CAPACITY 256;
ALTER TABLE orders ALTER COLUMN side DROP INDEX;
ALTER TABLE orders ALTER COLUMN symbol CACHE;
ALTER TABLE orders ALTER COLUMN symbol SYMBOL CAPACITY 4096;
ALTER TABLE orders ALTER COLUMN note TYPE VARCHAR;
INSERT INTO orders (order_id, symbol, timestamp) VALUES ('seed', 'BTC', '2024-01-01T00:00:00Z');
UPDATE orders SET note = 'migrated' WHERE note IS NULL;
SELECT count() FROM orders;
VACUUM TABLE orders;
ALTER TABLE orders DROP PARTITION LIST '2023-01-01';
ALTER TABLE orders DETACH PARTITION LIST '2023-01-02';
ALTER TABLE orders ATTACH PARTITION LIST '2023-01-02';
ALTER TABLE orders SQUASH PARTITIONS;
ALTER TABLE orders DEDUP DISABLE;
ALTER TABLE orders DEDUP ENABLE UPSERT KEYS(timestamp, order_id, symbol);
ALTER TABLE orders SET TYPE BYPASS WAL;
ALTER TABLE orders SET TYPE WAL;
ALTER TABLE orders SET TTL 4 WEEKS;
ALTER TABLE orders SET PARAM maxUncommittedRows = 10000;
ALTER TABLE orders RESUME WAL;
ALTER TABLE orders RENAME COLUMN quantity TO qty;
ALTER TABLE orders ADD COLUMN session_id SYMBOL CAPACITY 2048 CACHE;
ALTER TABLE orders DROP COLUMN price;
CREATE TABLE orders_copy (LIKE orders);
CREATE TABLE orders_slim AS (SELECT order_id, cast(qty AS FLOAT) AS size, symbol, timestamp FROM orders),
    CAST(size AS DOUBLE), INDEX(symbol CAPACITY 256) timestamp(timestamp) PARTITION BY DAY;
RENAME TABLE orders_copy TO orders_archive;
TRUNCATE TABLE orders_archive;
REINDEX TABLE orders COLUMN symbol LOCK EXCLUSIVE;
BEGIN;
COMMIT;
CHECKPOINT CREATE;
CHECKPOINT RELEASE;
GRANT SELECT ON orders TO auditor;
SET search_path = public;
SNAPSHOT PREPARE;
"""


def migrations(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return tmp_path


def found(tmp_path: Path, files: dict[str, str | bytes], **options: object) -> list[tuple[str, str, str]]:
    _, findings = parse_migrations(migrations(tmp_path, files), **options)
    return [(v.rule, Path(v.location).name, v.severity.value) for v in findings]


def test_every_statement_questdb_accepts_applies_or_leaves_the_model_alone(tmp_path):
    schema, findings = parse_migrations(migrations(tmp_path, {"001_create.sql": CREATE, "002_all.sql": ACCEPTED}))
    assert findings == []
    orders = schema.tables["orders"]
    assert list(orders.columns) == ["order_id", "symbol", "side", "qty", "note", "timestamp", "session_id"]
    assert orders.columns["symbol"].indexed and not orders.columns["side"].indexed
    assert orders.columns["note"].type == "VARCHAR"
    assert orders.columns["session_id"].source.endswith("002_all.sql:24")
    assert (orders.wal, orders.dedup_keys) == (True, ("timestamp", "order_id", "symbol"))
    assert list(schema.tables["orders_archive"].columns) == list(orders.columns)  # LIKE, then RENAME TABLE
    assert schema.tables["orders_archive"].dedup_keys == orders.dedup_keys
    slim = schema.tables["orders_slim"]
    assert [(c.name, c.type) for c in slim.columns.values()] == [
        ("order_id", "SYMBOL"), ("size", "DOUBLE"), ("symbol", "SYMBOL"), ("timestamp", "TIMESTAMP")]
    assert slim.columns["symbol"].indexed
    assert slim.designated_timestamp == "timestamp"


@pytest.mark.parametrize(("statement", "accepted"), [
    ("CREATE INDEX orders_symbol ON orders (symbol);", "ALTER TABLE t ALTER COLUMN c ADD INDEX"),
    ("COMMENT ON TABLE orders IS 'the orders';", "a SQL comment (-- ...)"),
    ("ALTER TABLE orders ADD COLUMN filled BOOLEAN DEFAULT false;", "add the column, then UPDATE t SET c = value"),
    ("ALTER TABLE orders ADD COLUMN venue SYMBOL NOT NULL;", "every QuestDB column is nullable"),
    ("CREATE TABLE fills (fill_id LONG PRIMARY KEY, ts TIMESTAMP) timestamp(ts);", "DEDUP UPSERT KEYS"),
    ("CREATE TABLE fills (fill_id LONG, ts TIMESTAMP, UNIQUE (fill_id));", "DEDUP UPSERT KEYS"),
    ("DELETE FROM orders WHERE symbol = 'X';", "DROP PARTITION"),
    ("ALTER TABLE orders RENAME TO trades;", "RENAME TABLE orders TO new_name"),
    ("ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'x';", "ALTER COLUMN c TYPE t"),
    ("DROP INDEX orders_symbol;", "ALTER TABLE t ALTER COLUMN c DROP INDEX"),
    ("CREATE SEQUENCE order_ids;", "QuestDB has no sequences"),
])
def test_statements_questdb_refuses_name_the_accepted_form_and_the_rest_goes_on(tmp_path, statement, accepted):
    after = "ALTER TABLE orders ADD COLUMN later INT;"
    schema, findings = parse_migrations(migrations(tmp_path, {
        "001_create.sql": CREATE, "002_refused.sql": f"-- one refused statement\n{statement}\n{after}\n"}))
    [finding] = findings
    assert (finding.rule, finding.severity, finding.location) == (
        "schema.refused-statement", Severity.ERROR, f"{tmp_path / '002_refused.sql'}:2")
    assert accepted in finding.expected and "QuestDB refuses" in finding.seen
    assert "later" in schema.tables["orders"].columns


def test_a_postgres_type_in_questdb_migrations_says_what_to_write_instead(tmp_path):
    _, [finding] = parse_migrations(migrations(tmp_path, {"001_t.sql": "CREATE TABLE t (name TEXT);"}))
    assert finding.rule == "schema.migration-error"
    assert "TEXT is PostgreSQL: QuestDB's is VARCHAR" in finding.expected and 'dialect = "postgres"' in finding.expected


def test_one_bad_statement_never_hides_the_other_200(tmp_path):
    adds = [f"ALTER TABLE orders ADD COLUMN c{n} INT;" for n in range(200)]
    adds.insert(120, "ALTER TABLE orders ADD COLUMN broken NOTATYPE;")
    adds.insert(50, "ALTER TABLE nope ADD COLUMN x INT;")
    files = {"001_create.sql": CREATE, "002_many.sql": "\n".join(adds)}
    schema, findings = parse_migrations(migrations(tmp_path, files))
    assert [(v.rule, v.location.rsplit(":", 1)[1], v.seen) for v in findings] == [
        ("schema.migration-error", "51", "unknown table 'nope'"),
        ("schema.migration-error", "122", "'NOTATYPE'"),
    ]
    assert sum(name.startswith("c") for name in schema.tables["orders"].columns) == 200


def test_data_statements_in_migrations_are_checked_against_the_schema_of_their_moment(tmp_path):
    _, findings = parse_migrations(migrations(tmp_path, {
        "001_create.sql": CREATE,
        "002_backfill.sql": "UPDATE orders SET note = 'x' WHERE price > 0;\nALTER TABLE orders DROP COLUMN price;\n"
                            "UPDATE orders SET note = 'y' WHERE price > 0;\n",
    }))
    [finding] = findings
    assert (finding.rule, finding.location) == ("sql.unknown-column", f"{tmp_path / '002_backfill.sql'}:3")


def test_rollback_files_sharing_a_number_need_exclude_or_order(tmp_path):
    files = {"001_create.sql": CREATE, "002_add.sql": "ALTER TABLE orders ADD COLUMN x INT;",
             "002_add_rollback.sql": "ALTER TABLE orders DROP COLUMN x;"}
    _, [finding] = parse_migrations(migrations(tmp_path, files))
    assert finding.rule == "schema.migration-error" and finding.severity is Severity.ERROR
    assert finding.seen == "number 2 shared by 002_add.sql, 002_add_rollback.sql"
    assert 'exclude (e.g. "*rollback*")' in finding.expected and "order" in finding.expected
    schema, findings = parse_migrations(tmp_path, exclude=["*rollback*"])
    assert findings == [] and "x" in schema.tables["orders"].columns
    schema, findings = parse_migrations(tmp_path, order=["002_add.sql", "002_add_rollback.sql"])
    assert findings == [] and "x" not in schema.tables["orders"].columns
    _, [typo] = parse_migrations(tmp_path, exclude=["*rollback*"], order=["002_ad.sql"])
    assert (typo.location, typo.seen) == ("002_ad.sql", "no such migration (excluded, or misspelt)")


def test_an_order_listing_every_file_is_the_whole_order_numbers_or_not(tmp_path):
    migrations(tmp_path, {"schema.sql": CREATE, "later.sql": "ALTER TABLE orders ADD COLUMN x INT;",
                          "001_drop_x.sql": "ALTER TABLE orders DROP COLUMN x;"})
    schema, findings = parse_migrations(tmp_path, order=["schema.sql", "later.sql", "001_drop_x.sql"])
    assert findings == [] and "x" not in schema.tables["orders"].columns
    _, findings = parse_migrations(tmp_path, order=["schema.sql", "later.sql"])
    assert [(Path(v.location).name, v.seen) for v in findings] == [
        ("later.sql", "'later.sql'"), ("schema.sql", "'schema.sql'"), ("001_drop_x.sql:1", "unknown table 'orders'")]
    assert "every migration listed in its order" in findings[0].expected


def test_file_problems_are_findings_naming_the_file(tmp_path):
    assert found(tmp_path, {
        "001_create.sql": "\ufeff" + CREATE,  # a byte-order mark is UTF-8, not an error
        "002_latin1.sql": "-- caf\xe9\nALTER TABLE orders ADD COLUMN a INT;".encode("latin-1"),
        "003_empty.sql": "-- nothing yet\n",
        "005_after_gap.sql": "ALTER TABLE orders ADD COLUMN b INT;",
        "notes.sql": "",
    }) == [
        ("schema.migration-error", "notes.sql", "error"),
        ("schema.migration-error", "002_latin1.sql", "error"),
        ("schema.empty-migration", "003_empty.sql", "warning"),
        ("schema.migration-gap", "005_after_gap.sql", "warning"),
    ]
    _, findings = parse_migrations(tmp_path, exclude=["notes.sql"])
    latin1 = next(v for v in findings if "latin1" in v.location)
    assert (latin1.expected, latin1.seen) == ("UTF-8 text", "byte 0xe9 at offset 6, which is not UTF-8")


def test_numbering_styles_and_several_paths(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "V1__create.sql").write_text(CREATE)
    (tmp_path / "b" / "V2__add.sql").write_text("ALTER TABLE orders ADD COLUMN x INT;")
    schema, findings = parse_migrations([tmp_path / "b", tmp_path / "a"])
    assert findings == [] and "x" in schema.tables["orders"].columns


def test_unmodelled_statements_are_warnings_and_queries_on_them_unchecked(tmp_path):
    schema, findings = parse_migrations(migrations(tmp_path, {
        "001_create.sql": CREATE,
        "002_view.sql": "CREATE MATERIALIZED VIEW orders_1h AS (SELECT symbol, count() FROM orders SAMPLE BY 1h) "
                        "PARTITION BY DAY;\nCOPY orders FROM 'orders.csv';\n"
                        "CREATE TABLE odd AS (SELECT 1 + 1 FROM orders);\n"
                        "ALTER MATERIALIZED VIEW orders_1h SET TTL 7 DAYS;\nCREATE USER auditor WITH PASSWORD 'x';",
    }))
    assert [(v.rule, v.severity.value) for v in findings] == [("schema.not-modelled", "warning")] * 3
    for name in ("orders_1h", "odd"):
        [unchecked] = check_statement(f"SELECT * FROM {name}", schema)
        assert (unchecked.rule, unchecked.severity) == ("sql.unchecked", Severity.WARNING)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM orders LATEST BY symbol",
    "SELECT * FROM orders WHERE symbol = $1 LATEST ON timestamp PARTITION BY symbol",
    "SELECT symbol, avg(price) FROM orders SAMPLE BY 1h FILL(NULL) ALIGN TO CALENDAR",
    "SELECT * FROM orders ASOF JOIN orders_copy",
])
def test_questdb_time_series_clauses_are_unchecked_warnings_never_errors(tmp_path, sql):
    schema = load_schema(migrations(tmp_path, {"001_create.sql": CREATE}))
    [finding] = check_statement(sql, schema)
    assert (finding.rule, finding.severity) == ("sql.unchecked", Severity.WARNING)
    assert check_statement("SELECT 'latest by' AS words FROM orders", schema) == []


POSTGRES = """
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE IF NOT EXISTS messages (
    id SERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    body JSONB,
    amount NUMERIC(12, 2) DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX messages_topic ON messages (topic);
COMMENT ON TABLE messages IS 'every relayed message';
ALTER TABLE messages ADD COLUMN attempts INTEGER DEFAULT 0, ADD COLUMN sender VARCHAR(64);
ALTER TABLE messages RENAME COLUMN sender TO origin;
ALTER TABLE messages ALTER COLUMN attempts TYPE BIGINT;
ALTER TABLE messages DROP COLUMN amount;
CREATE TABLE dead_letters (LIKE messages);
ALTER TABLE dead_letters RENAME TO failures;
CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$ LANGUAGE plpgsql;
INSERT INTO messages (topic) VALUES ('boot');
ALTER TABLE IF EXISTS gone ADD COLUMN x INT;
DO $$ BEGIN RAISE NOTICE 'migrated'; END $$;
"""


def test_postgres_dialect_builds_the_same_model(tmp_path):
    schema, findings = parse_migrations(migrations(tmp_path, {"001_init.sql": POSTGRES}), dialect="postgres")
    assert findings == []
    assert schema.dialect == "postgres"
    messages = schema.tables["messages"]
    assert [(c.name, c.type) for c in messages.columns.values()] == [
        ("id", "INT"), ("topic", "VARCHAR"), ("body", "JSONB"), ("created_at", "TIMESTAMPTZ"),
        ("attempts", "LONG"), ("origin", "VARCHAR")]
    assert messages.columns["topic"].source == f"{tmp_path / '001_init.sql'}:5"
    assert (messages.designated_timestamp, messages.dedup_keys, messages.wal) == (None, (), False)
    assert list(schema.tables["failures"].columns) == list(messages.columns)
    # PostgreSQL accepts what QuestDB refuses: no sql.unsupported for its code; columns still checked.
    assert check_statement("DELETE FROM messages WHERE id = $1 RETURNING id", schema, arg_count=1) == []
    [unknown] = check_statement("SELECT amount FROM messages", schema)
    assert unknown.rule == "sql.unknown-column"


def test_postgres_dialect_reports_each_bad_statement_and_goes_on(tmp_path):
    _, findings = parse_migrations(migrations(tmp_path, {
        "001_init.sql": "CREATE TABLE a (x INT);\nALTER TABLE missing ADD COLUMN y INT;\nALTER TABLE a DROP COLUMN z;\n"
                        "ALTER TABLE a ADD COLUMN w TEXT;\nSELECT nope FROM a;"}), dialect="postgres")
    assert [(v.rule, v.location.rsplit(":", 1)[1], v.seen) for v in findings] == [
        ("schema.migration-error", "2", "unknown table 'missing'"),
        ("schema.migration-error", "3", "unknown column 'z'"),
        ("sql.unknown-column", "5", "nope"),
    ]


def test_the_systems_migrations_give_the_same_model_both_ways():
    directory = REPO / "system" / "migrations"
    schema, findings = parse_migrations(directory)
    assert findings == []
    assert render_schema(schema) == render_schema(load_schema(directory))


def test_load_schema_raises_on_errors_only(tmp_path):
    migrations(tmp_path, {"001_create.sql": CREATE, "002_empty.sql": "", "004_gap.sql": "VACUUM TABLE orders;"})
    assert "orders" in load_schema(tmp_path).tables
    (tmp_path / "005_bad.sql").write_text("CREATE INDEX i ON orders (symbol);")
    with pytest.raises(MigrationError, match=r"005_bad\.sql:1: expected ALTER TABLE t ALTER COLUMN c ADD INDEX"):
        load_schema(tmp_path)


def test_an_unknown_dialect_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="dialect must be one of questdb, postgres, not 'mysql'"):
        parse_migrations(tmp_path, dialect="mysql")


def test_lineage_into_postgres_columns_judges_their_types(tmp_path):
    from contracts.registry import Field, Lineage, Registry, Topic
    from contracts.sqlcheck import check_lineage

    schema, _ = parse_migrations(migrations(tmp_path, {"001_init.sql": POSTGRES}), dialect="postgres")
    schema.tables["messages"].columns["total"] = dataclasses.replace(
        schema.tables["messages"].columns["attempts"], name="total", type="DECIMAL(12,2)")
    topic = Topic("sent", (Field("at", ("float",)), Field("body", ("dict",)), Field("total", ("float",)),
                           Field("topic", ("bool",))), producers=(), consumers=(), required_roles={})
    registry = Registry("r", ("live",), {"sent": topic}, lineage=(
        Lineage("sent", "at", "messages", "created_at"), Lineage("sent", "body", "messages", "body"),
        Lineage("sent", "total", "messages", "total"), Lineage("sent", "topic", "messages", "topic")))
    [wrong] = check_lineage(registry, schema)
    assert (wrong.rule, wrong.location) == ("contract.lineage-type", "lineage sent.topic -> messages.topic")
