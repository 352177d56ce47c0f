"""The built-in mutation catalogue: every seed-report defect (and more) put back into a copy of
system/ is caught by a rule that names its cause; and the unmutated system stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.harness import mutants
from sim.harness.explore import explore, plan
from sim.harness.scenario import ScenarioSpec

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = mutants.load_catalogue(mutants.builtin_catalogue_dir())


def test_the_catalogue_covers_every_seed_defect_and_more():
    defects = {m.defect for m in CATALOGUE.mutants if m.defect is not None}
    assert defects == set(range(1, 9))
    own = [m for m in CATALOGUE.mutants if m.defect is None]
    assert len(own) >= 16
    assert {m.family for m in own} >= {"wiring", "schema", "concurrency", "accounting", "session",
                                       "persistence", "lifecycle"} - {"concurrency"}


def test_the_catalogue_covers_issue_11s_families_with_probes_a_user_would_choose():
    """State checked only in part or at the end, values consistent and wrong: at least 15 new
    mutants, 52 in all; a probe with faults or several sessions only where the defect needs them."""
    assert len(CATALOGUE.mutants) >= 52
    hidden = [m for m in CATALOGUE.mutants if m.family in ("partial-state", "consistent-but-wrong")]
    assert len(hidden) >= 12 and {m.family for m in hidden} == {"partial-state", "consistent-but-wrong"}
    for mutant in (m for m in hidden if m.family == "consistent-but-wrong"):
        first = mutant.probes[0]
        assert first.kind == "run" and "--faults" not in first.args and "--sessions" not in first.args, mutant.id


@pytest.mark.parametrize("mutant", CATALOGUE.mutants, ids=lambda m: m.id)
def test_mutant_is_detected_by_a_rule_naming_its_cause(mutant):
    result = mutants.evaluate(mutant, CATALOGUE, ROOT)
    assert result.status == "detected", f"{mutant.id}: {result.status} {result.detail} rules={result.rules}"
    assert set(result.rules) & set(mutant.expect)


@pytest.mark.parametrize("kernel", ["asyncio", "trio"])
@pytest.mark.parametrize("mode", ["backtest", "paper"])
def test_the_unmutated_system_is_clean_over_a_seed_range(kernel, mode):
    specs = plan(ScenarioSpec(mode=mode, policy="random", hours=0.5), seeds=5, start=100, kernels=(kernel,))
    result = explore(specs, recheck_every=5)
    assert result.failures == [], [(o.spec.repro(), o.rules) for o in result.failures]
    assert len(result.outcomes) == 5


def test_every_probe_fires_nothing_on_the_unmutated_code():
    """The control: a rule that also fires on the correct system would prove nothing about a mutant."""
    control = mutants.run_control(CATALOGUE, ROOT)
    assert control.errors == []
    assert control.rules and all(rules == [] for rules in control.rules.values()), control.rules
