"""Invariants and state machines declared in a registry, checked on every publish and write."""

from __future__ import annotations

import pytest

from contracts.registry import Entity, Invariant, Registry, RegistryError, StateMachine
from contracts.registry.trading import REGISTRY as TRADING
from tests.contracts.oracle_helpers import (
    INSERT_CART,
    REGISTRY,
    SUBSCRIBERS,
    UPDATE_CART,
    insert_args,
    monitor,
    opened,
    schema,
)


def findings(mon, rule):
    return [v for v in mon.violations() if v.rule == rule]


def test_an_invariant_over_a_payload_names_its_id_expected_and_seen(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(discount=50.0), SUBSCRIBERS)
    [finding] = findings(mon, "contract.invariant")
    assert finding.details["invariant"] == "cart.discount-within-total"
    assert finding.expected == "0 <= discount <= total"
    assert finding.seen == "discount=50.0, total=30.0"
    assert "cart.opened cart_id=c1" in finding.message


def test_an_invariant_reads_the_entitys_merged_events(tmp_path):
    # cart.changed carries no owner; the cart's cart.opened did
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(owner=" "), SUBSCRIBERS)
    assert findings(mon, "contract.invariant") == []  # owner-named is declared on cart.changed only
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 9.0, "discount": 1.0, "status": "OPEN"}, SUBSCRIBERS)
    [finding] = findings(mon, "contract.invariant")
    assert finding.details["invariant"] == "cart.owner-named"


def test_an_invariant_over_a_row_judges_the_row_an_update_leaves(tmp_path):
    mon = monitor(tmp_path)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_statement(UPDATE_CART, (3.0, 4.0, "OPEN", "c1"), None)  # discount above the new total
    [finding] = findings(mon, "contract.invariant")
    assert "carts row cart_id=c1" in finding.message
    assert finding.seen == "discount=4.0, total=3.0"


def test_a_failed_statement_does_not_change_the_row_the_invariants_see(tmp_path):
    from system.ports import TransientDatabaseError

    mon = monitor(tmp_path)
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_statement(UPDATE_CART, (3.0, 4.0, "OPEN", "c1"), TransientDatabaseError("injected"))
    assert findings(mon, "contract.invariant") == []


def test_an_undeclared_transition_is_reported_per_entity(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.opened", opened(), SUBSCRIBERS)
    mon.on_publish("cart.opened", opened(cart_id="c2"), SUBSCRIBERS)
    mon.on_publish("cart.closed", {"cart_id": "c1", "reason": "paid"}, SUBSCRIBERS)
    mon.on_publish("cart.changed", {"cart_id": "c2", "total": 9.0, "discount": 1.0, "status": "OPEN"}, SUBSCRIBERS)
    assert findings(mon, "contract.state-transition") == []
    mon.on_publish("cart.changed", {"cart_id": "c1", "total": 9.0, "discount": 1.0, "status": "OPEN"}, SUBSCRIBERS)
    [finding] = findings(mon, "contract.state-transition")
    assert finding.seen == "CLOSED -> OPEN"
    assert finding.expected == "nothing after CLOSED (terminal)"


def test_a_first_state_outside_the_initial_ones_is_reported(tmp_path):
    mon = monitor(tmp_path)
    mon.on_publish("cart.closed", {"cart_id": "c9", "reason": "paid"}, SUBSCRIBERS)
    [finding] = findings(mon, "contract.state-transition")
    assert finding.seen == "first state CLOSED"


def test_trading_sessions_must_leave_the_state_they_were_in():
    from contracts.migrations import load_schema
    from contracts.monitor import RuntimeMonitor
    from sim.harness.scenario import migrations_dir

    mon = RuntimeMonitor(TRADING, load_schema(migrations_dir()), mode="backtest")
    persistence = (type("S", (), {"component": "TradingPersistenceService", "role": "persistence"})(),)

    def change(old, new):
        mon.on_publish("session.state_changed", {"session_id": "s1", "mode": "backtest", "old_state": old,
                                                 "new_state": new, "timestamp": 1.0}, persistence)

    change("IDLE", "STARTING")
    change("STARTING", "RUNNING")
    assert findings(mon, "contract.state-transition") == []
    change("STARTING", "STOPPING")  # claims to leave STARTING, but the session is RUNNING
    [finding] = findings(mon, "contract.state-transition")
    assert finding.seen == "old_state = STARTING"


@pytest.mark.parametrize(("side", "stop", "take", "holds"), [
    ("LONG", 90.0, 110.0, True), ("LONG", 110.0, 120.0, False), ("LONG", None, None, True),
    ("SHORT", 110.0, 90.0, True), ("SHORT", 90.0, 110.0, False),
])
def test_trading_brackets(side, stop, take, holds):
    [brackets] = [i for i in TRADING.invariants if i.id == "position.brackets"]
    assert brackets.holds({"side": side, "stop_loss": stop, "entry_price": 100.0, "take_profit": take}) is holds


def test_a_predicate_that_raises_is_a_finding_with_its_error(tmp_path):
    broken = Invariant("cart.total-known", "total is a number", ("total",), lambda v: v["total"] > 0,
                       topics=("cart.opened",))
    registry = Registry(REGISTRY.name, REGISTRY.modes, REGISTRY.topics, invariants=(broken,))
    from contracts.monitor import RuntimeMonitor

    mon = RuntimeMonitor(registry, schema(tmp_path), mode="run")
    mon.on_publish("cart.opened", opened(total="thirty"), SUBSCRIBERS)
    [finding] = findings(mon, "contract.invariant")
    assert "the check raised TypeError" in finding.seen


def test_declarations_that_name_unknown_states_or_topics_fail_where_written():
    with pytest.raises(RegistryError, match="no entry in transitions"):
        StateMachine("status", initial=("NEW",), transitions={"OPEN": ()})
    with pytest.raises(RegistryError, match=r"unknown topic 'cart\.lost'"):
        Registry("shop", ("run",), REGISTRY.topics, entities=(Entity("cart", ("cart_id",), ("cart.lost",)),))
    with pytest.raises(RegistryError, match="topics and/or tables"):
        Invariant("x", "x", ("total",), lambda v: True)


def test_full_system_a_sign_error_in_short_unrealized_pnl_is_caught_as_it_happens(monkeypatch):
    from sim.harness.scenario import ScenarioSpec, run_scenario
    from system.orders.records import Position

    def pnl_at(self, price):
        return (price - self.entry_price) * self.quantity  # the SHORT branch lost its sign

    spec = ScenarioSpec(hours=1.0, seed=1)
    assert not [v for v in run_scenario(spec).violations if v.rule.startswith("contract.")]
    monkeypatch.setattr(Position, "pnl_at", pnl_at)
    found = [v for v in run_scenario(spec).violations if v.rule == "contract.invariant"]
    assert [v.details["invariant"] for v in found] == ["position.unrealized-pnl"]


def test_an_invariant_of_a_rows_making_is_not_judged_on_its_updates(tmp_path):
    """``statements=("INSERT",)``: a property the row has when made (brackets at opening) and that
    a later update may legitimately change (an add moves the average entry)."""
    import dataclasses

    from contracts.monitor import RuntimeMonitor

    at_insert = tuple(dataclasses.replace(i, statements=("INSERT",)) if i.id == "cart.discount-within-total" else i
                      for i in REGISTRY.invariants)
    registry = dataclasses.replace(REGISTRY, invariants=at_insert)
    mon = RuntimeMonitor(registry, schema(tmp_path), mode="run")
    mon.on_statement(INSERT_CART, insert_args(opened()), None)
    mon.on_statement(UPDATE_CART, (3.0, 4.0, "OPEN", "c1"), None)  # would break it: not judged
    assert findings(mon, "contract.invariant") == []
    mon.on_statement(INSERT_CART, insert_args(opened(cart_id="c2", discount=99.0)), None)
    [finding] = findings(mon, "contract.invariant")
    assert "cart_id=c2" in finding.message
