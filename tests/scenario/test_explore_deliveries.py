"""Exploration's second coverage count: distinct (topic, subscribers) delivery orders on the bus."""

from __future__ import annotations

import json

from sim.cli import main
from sim.harness import explore
from sim.harness.recorder import DeliveryOrders
from sim.harness.scenario import ScenarioSpec
from sim.harness.steer import steered


class _Sub:
    def __init__(self, name: str) -> None:
        self.name = name


def test_delivery_fingerprints_are_stable_ints_of_publishes_and_consecutive_pairs():
    a, b = (_Sub("A:x"),), (_Sub("B:y"), _Sub("C:z"))
    orders = DeliveryOrders()
    for topic, subs in [("t1", a), ("t2", b), ("t1", a), ("t1", a)]:
        orders.see(topic, subs)
    publishes = {s for s in orders.seen if s < 2**32}
    pairs = orders.seen - publishes
    assert len(publishes) == 2 and len(pairs) == 3  # t1>t2, t2>t1, t1>t1
    again = DeliveryOrders()  # new subscription objects, same names: same fingerprints (no id, no salted hash)
    for topic, subs in [("t1", (_Sub("A:x"),)), ("t2", (_Sub("B:y"), _Sub("C:z")))]:
        again.see(topic, subs)
    assert again.seen <= orders.seen
    swapped = DeliveryOrders()
    swapped.see("t2", (_Sub("C:z"), _Sub("B:y")))  # another delivery order of the same publish
    assert not swapped.seen & orders.seen


def _explore(spec: ScenarioSpec, seeds: int) -> dict:
    specs = explore.plan(spec, seeds=seeds, start=0, kernels=("asyncio",))
    return explore.explore(specs, recheck_every=0).coverage()


def test_delivery_coverage_is_deterministic_and_grows_with_sessions_and_topics():
    trivial = ScenarioSpec(hours=0.05, symbols=("BTCUSDT",), policy="random")
    first, second = _explore(trivial, 2), _explore(trivial, 2)
    assert first == second
    assert first["deliveries"] > 0
    richer = _explore(ScenarioSpec(hours=0.05, symbols=("BTCUSDT", "ETHUSDT"), sessions=3, policy="random",
                                   faults="db-flaky"), 2)
    assert richer["deliveries"] > first["deliveries"]


def test_a_run_counts_as_adding_coverage_and_is_steered_on_when_it_adds_deliveries_only():
    spec = ScenarioSpec(hours=0.1)
    outcomes = [explore.SeedOutcome(ScenarioSpec(hours=0.1, seed=seed), "h", (), 0.1, frozenset({1}), frozenset(d))
                for seed, d in enumerate([{5}, {5, 6}, {6}, set()])]
    report = explore.Exploration(outcomes=outcomes).coverage()
    assert report["deliveries"] == 2 and report["runs_adding_coverage"] == 2
    assert report["deliveries_at_quarters"] == [1, 2, 2]
    line = json.loads(json.dumps(outcomes[1].to_line()))
    assert explore.SeedOutcome.from_line(line).deliveries == frozenset({5, 6})

    def fake_runner(todo, stopping):
        for job_spec, _ in todo:
            new = frozenset({job_spec.seed}) if job_spec.seed < 2 and job_spec.faults == "none" else frozenset()
            yield explore.SeedOutcome(job_spec, "h", (), 0.0, frozenset(), new)

    specs = explore.plan(spec, seeds=8, start=0, kernels=("asyncio",))
    ran = [o.spec for o in steered(specs, runner=fake_runner, round_size=4, recheck_every=0).outcomes]
    assert any(s.faults != "none" or s.pct_depth != 3 for s in ran), "neighbours of delivery-adding runs"


def test_explore_reports_both_counts_in_json_and_text(capsys):
    assert main(["explore", "--seeds", "2", "--hours", "0.05", "--recheck-every", "0", "--json"]) == 0
    coverage = json.loads(capsys.readouterr().out)["coverage"]
    assert {"await_site_pairs", "deliveries", "runs_adding_coverage", "at_quarters"} <= set(coverage)
    assert coverage["deliveries"] > 0
    assert main(["explore", "--seeds", "1", "--hours", "0.05", "--recheck-every", "0"]) == 0
    assert "distinct delivery orders on the bus" in capsys.readouterr().out
