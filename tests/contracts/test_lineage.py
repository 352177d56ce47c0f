"""The lineage oracle: each written row against the event that caused it, as it is written."""

from __future__ import annotations

from datetime import datetime

import pytest

from contracts.lineage import lineage_gaps
from contracts.registry import Lineage, Registry, RegistryError
from contracts.sqlcheck import plan_statement
from tests.contracts.oracle_helpers import (
    CLOSE_CART,
    INSERT_CART,
    INSERT_CART_BY,
    REGISTRY,
    SUBSCRIBERS,
    TOPICS,
    UPDATE_CART,
    insert_args,
    monitor,
    opened,
    rules,
    schema,
)


def lineage(mon):
    return [v for v in mon.violations() if v.rule.startswith("contract.lineage")]


def test_a_row_written_as_its_event_says_is_clean(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 40.0, "discount": 0.0, "status": "OPEN"}, SUBSCRIBERS)
    mon.on_statement(UPDATE_CART, (40.0, 0.0, "OPEN", "c1"), None)
    mon.on_publish("cart.closed", {"cart_id": "c1", "reason": "paid"}, SUBSCRIBERS)
    mon.on_statement(CLOSE_CART, ("CLOSED", '{"why": "paid"}', "c1"), None)
    assert mon.violations() == []


def test_two_same_typed_arguments_swapped_name_both_columns_with_the_event_values(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    args = list(insert_args(opened()))
    args[3], args[4] = args[4], args[3]  # total <-> discount
    mon.on_statement(INSERT_CART, tuple(args), None)
    [finding] = lineage(mon)
    assert finding.rule == "contract.lineage-mismatch"
    assert finding.details["columns"] == ["total", "discount"]
    assert "total = 30.0 (cart.opened.total)" in finding.expected
    assert "total = 5.0 ($4)" in finding.seen


def test_a_row_stamped_with_write_time_instead_of_event_time_is_caught(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    args = list(insert_args(opened()))
    args[6] = datetime(2023, 11, 14, 22, 15)  # "now" at the write, not the event's instant
    mon.on_statement(INSERT_CART, tuple(args), None)
    [finding] = lineage(mon)
    assert finding.details["columns"] == ["created_at"]


def test_a_wrong_write_is_reported_even_when_a_later_write_repairs_the_row(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 40.0, "discount": 2.0, "status": "OPEN"}, SUBSCRIBERS)
    mon.on_statement(UPDATE_CART, (40.0, 40.0, "OPEN", "c1"), None)  # discount from the wrong field
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 50.0, "discount": 2.0, "status": "OPEN"}, SUBSCRIBERS)
    mon.on_statement(UPDATE_CART, (50.0, 2.0, "OPEN", "c1"), None)  # the final row is right
    assert rules(mon, "contract.lineage") == ["contract.lineage-mismatch"]


def test_rows_are_attributed_by_key_so_interleaved_writers_do_not_compete(tmp_path):
    mon = monitor(tmp_path)
    first, second = opened(cart_id="c1"), opened(cart_id="c2", owner="bob", total=99.0)
    mon.on_publish("cart.opened", first, SUBSCRIBERS)
    mon.on_publish("cart.opened", second, SUBSCRIBERS)
    mon.on_statement(INSERT_CART, insert_args(second), None)  # written in the other order
    mon.on_statement(INSERT_CART, insert_args(first), None)
    assert mon.violations() == []


def test_a_write_delayed_past_the_next_event_of_its_row_still_finds_its_event(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 10.0, "discount": 1.0, "status": "OPEN"}, SUBSCRIBERS)
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 20.0, "discount": 1.0, "status": "OPEN"}, SUBSCRIBERS)
    mon.on_statement(UPDATE_CART, (10.0, 1.0, "OPEN", "c1"), None)  # the first event's write, retried late
    mon.on_statement(UPDATE_CART, (20.0, 1.0, "OPEN", "c1"), None)
    assert mon.violations() == []


@pytest.mark.parametrize("wrong", [False, True], ids=["right", "wrong"])
def test_a_first_write_many_publishes_after_its_event_still_finds_it(tmp_path, wrong):
    # Two sessions side by side: the first cart's INSERT (the table's first write) is delayed
    # while the other carts' events keep coming; the event must still explain it, and a wrong
    # value must still be caught against it.
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    for n in range(2000):
        mon.on_publish("cart.changed", {"cart_id": f"other{n % 7}", "total": float(n), "discount": 0.0,
                                        "status": "OPEN"}, SUBSCRIBERS)
    args = list(insert_args(opened()))
    if wrong:
        args[3] = 31.0
    mon.on_statement(INSERT_CART, tuple(args), None)
    if wrong:
        [finding] = lineage(mon)
        assert (finding.rule, finding.details["columns"]) == ("contract.lineage-mismatch", ["total"])
    else:
        assert lineage(mon) == []


def test_a_row_whose_key_no_event_carries_is_a_write_without_an_event(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    args = list(insert_args(opened()))
    args[0], args[1] = args[1], args[0]  # cart_id <-> owner: the row names no known cart
    mon.on_statement(INSERT_CART, tuple(args), None)
    [finding] = lineage(mon)
    assert finding.rule == "contract.lineage-no-event"
    assert "cart_id='ann'" in finding.message


def test_a_statement_writing_a_column_filled_outside_the_events_may_come_without_an_event(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(cart_id="other"), SUBSCRIBERS)
    mon.on_statement(INSERT_CART_BY, (*insert_args(opened()), "admin"), None)
    assert mon.violations() == []


def test_constants_and_derivations_are_compared_too(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.closed", {"cart_id": "c1", "reason": "paid"}, SUBSCRIBERS)
    mon.on_statement(CLOSE_CART, ("CLOSED", '{"why": "timeout"}', "c1"), None)
    [finding] = lineage(mon)
    assert finding.details["columns"] == ["note"]
    assert "json of {why: reason}" in finding.expected


def test_a_database_only_monitor_makes_no_attribution_claims(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    assert mon.violations() == []


def test_a_written_column_without_lineage_is_flagged_statically(tmp_path):
    registry = Registry(REGISTRY.name, REGISTRY.modes, REGISTRY.topics, lineage=REGISTRY.lineage)
    plan = plan_statement(INSERT_CART_BY, schema(tmp_path), registry)
    [gap] = lineage_gaps(plan, registry, location="shop.py:12")
    assert (gap.rule, gap.details["column"], gap.location) == ("contract.lineage-missing", "opened_by", "shop.py:12")
    assert lineage_gaps(plan, REGISTRY) == []  # declared as filled outside the events


def test_a_write_no_single_event_explains_is_a_registry_gap_not_a_finding_per_row(tmp_path):
    from contracts.monitor import RuntimeMonitor

    # owner comes only from cart.opened, discount (here) only from cart.changed
    registry = Registry(REGISTRY.name, REGISTRY.modes, REGISTRY.topics, lineage=tuple(
        e for e in REGISTRY.lineage if (e.topic, e.column) != ("cart.opened", "discount")))
    mixed = "UPDATE carts SET owner = $1, discount = $2 WHERE cart_id = $3"
    plan = plan_statement(mixed, schema(tmp_path), registry)
    [gap] = lineage_gaps(plan, registry)
    assert gap.rule == "contract.lineage-missing"
    assert gap.seen == "closest: cart.changed lacks owner"
    mon = RuntimeMonitor(registry, schema(tmp_path), mode="run")
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    mon.on_statement(mixed, ("zed", 1.0, "c1"), None)
    mon.on_statement(mixed, ("zed", 2.0, "c1"), None)
    assert [(v.rule, v.details["count"]) for v in mon.violations()] == [("contract.lineage-missing", 1)]


def test_oracle_declarations_naming_unknown_tables_or_columns_are_reported(tmp_path):
    from contracts.lineage import check_declarations

    assert check_declarations(REGISTRY, schema(tmp_path)) == []
    typo = Registry(REGISTRY.name, REGISTRY.modes, REGISTRY.topics, outside_events={"carts": ("opend_by",)},
                    table_keys={"cart": ("cart_id",)})
    found = check_declarations(typo, schema(tmp_path))
    assert [(v.rule, v.seen) for v in found] == [("contract.lineage-unknown-column", "unknown carts.opend_by"),
                                                  ("contract.lineage-unknown-column", "unknown cart.cart_id")]


def test_a_lineage_entry_naming_a_field_the_topic_lacks_fails_where_it_is_written():
    with pytest.raises(RegistryError, match="no field 'totl'"):
        Registry("shop", ("run",), {t.name: t for t in TOPICS},
                 lineage=(Lineage("cart.opened", "totl", "carts", "total"),))


def test_full_system_two_price_columns_swapped_in_the_mark_to_market_update_are_caught(monkeypatch):
    from sim.harness.scenario import ScenarioSpec, run_scenario
    from system.persistence import service

    async def swapped(self, p):
        await self._write("position_updated", "positions", p.get("position_id"), service.sql.UPDATE_POSITION_MARK,
                          lambda: (p["quantity"], p["current_price"], p["entry_price"], p["unrealized_pnl"],
                                   p["position_id"], p["session_id"]))

    spec = ScenarioSpec(hours=1.0)
    assert not [v for v in run_scenario(spec).violations if v.rule.startswith("contract.lineage")]
    monkeypatch.setattr(service.TradingPersistenceService, "_on_position_updated", swapped)
    found = [v for v in run_scenario(spec).violations if v.rule == "contract.lineage-mismatch"]
    assert found and found[0].details["columns"] == ["entry_price", "current_price"]
