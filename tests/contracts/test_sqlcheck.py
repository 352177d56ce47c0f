"""The SQL checker, rule by rule, on statements shaped like the seed report's and on the real system's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from contracts.migrations import load_schema
from contracts.registry import Lineage, Registry, load_registry
from contracts.registry.trading import REGISTRY
from contracts.schema import Schema, apply_ddl
from contracts.sqlcheck import StatementInfo, check_lineage, check_statement, plan_statement, statement_tables

REPO = Path(__file__).resolve().parents[2]
SCHEMA = load_schema(REPO / "system" / "migrations")

# The seed report's INSERT (trading_persistence.py:225): no signal_id, no session_id.
REPORT_SIGNAL_INSERT = """
    INSERT INTO strategy_signals (
        strategy_id, symbol, signal_type, timestamp, triggered, conditions_met, indicator_values, action, metadata
    ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
FIXED_SIGNAL_INSERT = (
    "INSERT INTO strategy_signals (signal_id, strategy_id, symbol, session_id, signal_type, timestamp, triggered,"
    " action, conditions_met, indicator_values, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
# The seed report's orders INSERT (trading_persistence.py:313): no session_id.
REPORT_ORDER_INSERT = (
    "INSERT INTO orders (order_id, signal_id, strategy_id, symbol, side, order_type, timestamp, quantity, price,"
    " filled_quantity, filled_price, status, commission, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
)


def rules(sql: str, *, registry: Registry | None = REGISTRY, arg_count: int | None = None,
          schema: Schema = SCHEMA) -> list[str]:
    return [v.rule for v in check_statement(sql, schema, registry, location="x.py:1", arg_count=arg_count)]


def test_seed_defect_2_insert_without_signal_id_breaks_dedup():
    found = check_statement(REPORT_SIGNAL_INSERT, SCHEMA, REGISTRY, location="persistence.py:225", arg_count=9)
    by_rule = {v.rule: v for v in found}
    assert set(by_rule) == {"sql.dedup-key-missing", "sql.required-column-missing"}
    assert "'signal_id'" in by_rule["sql.dedup-key-missing"].message
    assert "'session_id'" in by_rule["sql.required-column-missing"].message
    assert by_rule["sql.dedup-key-missing"].location == "persistence.py:225"
    assert rules(FIXED_SIGNAL_INSERT, arg_count=11) == []


def test_seed_defect_3_insert_without_session_id_is_caught_only_with_the_registry():
    assert rules(REPORT_ORDER_INSERT, arg_count=14) == ["sql.required-column-missing"]
    assert rules(REPORT_ORDER_INSERT, registry=None, arg_count=14) == []


def test_a_null_literal_does_not_count_as_writing_a_key():
    sql = ("INSERT INTO strategy_signals (signal_id, session_id, strategy_id, symbol, timestamp)"
           " VALUES (NULL, $1, $2, $3, $4)")
    found = check_statement(sql, SCHEMA, REGISTRY)
    assert [(v.rule, v.seen) for v in found] == [("sql.dedup-key-missing", "NULL literal")]


@pytest.mark.parametrize(("sql", "rule"), [
    ("SELECT price FROM market_data LIMIT 10 OFFSET 20", "sql.unsupported"),
    ("INSERT INTO market_data (symbol, timestamp) VALUES ($1, $2) ON CONFLICT DO NOTHING", "sql.unsupported"),
    ("DELETE FROM orders WHERE order_id = $1", "sql.unsupported"),
    ("SELECT price FROM market_data WHERE timestamp > $1::timestamptz", "sql.unsupported"),
    ("SELECT price FROM trades", "sql.unknown-table"),
    ("SELECT nope FROM market_data", "sql.unknown-column"),
    ("SELECT m.nope FROM market_data m", "sql.unknown-column"),
    ("SELECT price FROM market_data WHERE nope = $1", "sql.unknown-column"),
    ("INSERT INTO orders (nope) VALUES ($1)", "sql.unknown-column"),
    ("UPDATE orders SET nope = $1 WHERE order_id = $2", "sql.unknown-column"),
    ("UPDATE orders SET status = $1 WHERE nope = $2", "sql.unknown-column"),
    ("SELECT o.status FROM orders o JOIN positions p ON o.symbol = p.symbol WHERE nope = $1", "sql.unknown-column"),
    ("UPDATE orders SET timestamp = $1 WHERE order_id = $2", "sql.update-designated-timestamp"),
    ("INSERT INTO market_data (symbol, price) VALUES ($1, $2)", "sql.designated-timestamp-missing"),
    ("INSERT INTO market_data (symbol, timestamp, price) VALUES ($1, $2)", "sql.insert-arity"),
    ("SELECT price FROM market_data WHERE symbol = $1 AND timestamp > $3", "sql.placeholder-count"),
    ("SELECT price FROM market_data WHERE symbol = ?", "sql.placeholder-style"),
    ("SELECT price FROM market_data; SELECT volume FROM market_data", "sql.multiple-statements"),
    ("SELEC price FROM market_data", "sql.syntax"),
    ("UPDATE orders SET", "sql.syntax"),
    ("SELECT price FROM market_data WHERE", "sql.syntax"),
])
def test_each_rule_fires_on_its_violation(sql, rule):
    assert rule in rules(sql)


@pytest.mark.parametrize("sql", [
    "SELECT timestamp, price FROM market_data WHERE symbol = $1 AND timestamp >= $2 AND timestamp < $3"
    " ORDER BY timestamp LIMIT $4, $5",
    "SELECT count() FROM market_data WHERE symbol = $1",
    "SELECT count(*) AS n FROM market_data ORDER BY n",
    "SELECT o.status, p.quantity FROM orders o JOIN positions p ON o.symbol = p.symbol WHERE o.session_id = $1",
    "SELECT symbol FROM (SELECT symbol, price FROM market_data) WHERE price > $1",
    "WITH recent AS (SELECT symbol FROM market_data WHERE timestamp > $1) SELECT symbol FROM recent",
    "UPDATE orders SET status = $1 WHERE order_id = $2 AND session_id = $3",
    "SHOW COLUMNS FROM orders",
    "SELECT * FROM table_columns('orders')",
])
def test_questdb_sql_the_system_may_use_is_clean(sql):
    assert rules(sql) == []


def test_placeholders_must_match_the_argument_count_at_the_call_site():
    sql = "SELECT price FROM market_data WHERE symbol = $1 AND timestamp >= $2"
    assert rules(sql, arg_count=2) == []
    found = check_statement(sql, SCHEMA, location="x.py:3", arg_count=3)
    assert [(v.rule, v.expected, v.seen) for v in found] == [
        ("sql.placeholder-count", "2 argument(s)", "3 argument(s)")]


def test_questdb_extensions_are_reported_as_unchecked_not_as_errors():
    found = check_statement("SELECT symbol, avg(price) FROM market_data SAMPLE BY 1h", SCHEMA)
    assert [(v.rule, str(v.severity)) for v in found] == [("sql.unchecked", "warning")]


def test_statement_tables_reports_kind_and_tables_written_and_read():
    assert statement_tables(FIXED_SIGNAL_INSERT) == StatementInfo("INSERT", ("strategy_signals",), ())
    info = statement_tables("SELECT o.status FROM orders o JOIN positions p ON o.symbol = p.symbol")
    assert (info.kind, info.tables_written, info.tables_read) == ("SELECT", (), ("orders", "positions"))
    assert statement_tables("UPDATE orders SET status = $1 WHERE order_id = $2").tables_written == ("orders",)
    assert statement_tables("WITH r AS (SELECT symbol FROM market_data) SELECT symbol FROM r").tables_read == (
        "market_data",)
    assert statement_tables("not sql at all (").kind == "OTHER"


def test_plan_binds_placeholders_to_columns_with_casts():
    plan = plan_statement("SELECT price FROM market_data WHERE symbol = $1 AND $2::timestamp <= timestamp", SCHEMA)
    assert {i: (b.column.name, b.cast, b.written) for i, b in plan.bindings.items()} == {
        1: ("symbol", None, False), 2: ("timestamp", "TIMESTAMP", False)}
    insert = plan_statement(FIXED_SIGNAL_INSERT, SCHEMA, REGISTRY)
    assert insert.bindings[1].column.name == "signal_id" and insert.bindings[1].written
    assert insert.must_write["signal_id"] == "sql.dedup-key-missing"
    assert insert.must_write["session_id"] == "sql.required-column-missing"


def test_every_statement_of_the_real_system_is_clean():
    tree = ast.parse((REPO / "system" / "persistence" / "statements.py").read_text())
    statements = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                  if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert len(statements) >= 10
    for name, sql in statements.items():
        assert check_statement(sql, SCHEMA, REGISTRY) == [], name


def test_lineage_and_required_columns_of_the_trading_registry_match_the_migrations():
    assert check_lineage(load_registry(), SCHEMA) == []


def test_lineage_reports_unknown_tables_once_columns_and_unstorable_types():
    schema = Schema()
    apply_ddl(schema, "CREATE TABLE signals (signal_id SYMBOL, price SYMBOL, ts TIMESTAMP);", source="m.sql")
    registry = Registry(
        REGISTRY.name, REGISTRY.modes, REGISTRY.topics,
        lineage=(Lineage("signal_generated", "signal_id", "signals", "signal_id"),
                 Lineage("signal_generated", "price", "signals", "price"),
                 Lineage("signal_generated", "symbol", "signals", "symbol"),
                 Lineage("order_created", "order_id", "orders", "order_id"),
                 Lineage("order_created", "price", "orders", "price")),
        required_columns={"signals": ("session_id",)},
    )
    found = [(v.rule, v.seen) for v in check_lineage(registry, schema)]
    assert found == [
        ("contract.lineage-unknown-column", "unknown table 'orders'"),
        ("contract.lineage-type", "SYMBOL (m.sql:1)"),
        ("contract.lineage-unknown-column", "unknown column 'symbol'"),
        ("contract.required-column-unknown", "unknown column"),
    ]
