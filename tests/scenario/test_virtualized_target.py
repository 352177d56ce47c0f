"""Issue 13: a target using ``datetime.now()``, ``random.random()`` and ``uuid.uuid4()`` in its own
logic (no ports) is deterministic because the kernel virtualizes the stdlib; with the
``virtualize`` knob off, the determinism check names the first differing row."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from sim.cli import build_parser
from sim.cli import main as simwire
from sim.cli.options import spec_from_args
from sim.harness.outputs import check_session_determinism, digest, output_items
from sim.harness.session import run_scenario
from sim.harness.spec import ScenarioSpec, SpecError

WALLCLOCK = "tests.scenario.wallclock_target:TARGET"
SPEC = ScenarioSpec(target=WALLCLOCK, hours=0.25, symbols=("Q1",))


def test_a_hundred_seeds_each_run_twice_give_identical_tables_and_hashes() -> None:
    digests = set()
    for seed in range(100):
        spec = dataclasses.replace(SPEC, seed=seed)
        first, second = run_scenario(spec), run_scenario(spec)
        assert first.clean and second.clean, (seed, first.violations, second.violations)
        assert first.trace_hash == second.trace_hash, f"seed {seed}: trace hashes differ"
        assert first.tables == second.tables, f"seed {seed}: tables differ"
        assert digest(output_items(first)) == digest(output_items(second)), f"seed {seed}: outputs differ"
        rows = first.tables["jobs"]
        assert len(rows) == 15 and rows[0]["at"] == datetime(2024, 1, 1, 0, 1)  # virtual time from the epoch
        digests.add(digest(output_items(first)))
    assert len(digests) == 100  # the seed drives random and uuid4: every seed writes other rows


def test_without_virtualization_the_determinism_check_names_the_first_differing_row() -> None:
    report = check_session_determinism(dataclasses.replace(SPEC, virtualize=False), subprocess_check=False)
    assert not report.identical
    assert len(set(report.hashes.values())) == 1 and report.divergence is None  # the schedule is the same
    assert report.output_difference is not None and report.output_difference.startswith("row jobs #0: ")
    assert "same schedule, different outputs; first difference: row jobs #0: " in report.render()


def test_virtualized_it_is_identical_across_processes_hash_seeds_and_time_zones() -> None:
    report = check_session_determinism(dataclasses.replace(SPEC, seed=7))
    assert report.identical and len(set(report.digests.values())) == 1, report.render()


def test_the_no_virtualize_flag_round_trips_through_repro(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--target", WALLCLOCK, "--hours", "0.25", "--symbols", "Q1", "--seed", "4", "--no-virtualize"]
    spec = spec_from_args(build_parser().parse_args(argv))
    assert spec == dataclasses.replace(SPEC, seed=4, virtualize=False)
    assert spec.repro().endswith(" --no-virtualize") and "virtualize=off" in spec.knobs_line()
    assert spec_from_args(build_parser().parse_args(spec.repro().split()[1:])) == spec
    on = dataclasses.replace(spec, virtualize=True)
    assert "--no-virtualize" not in on.repro() and "virtualize=on" in on.knobs_line()
    assert ScenarioSpec.from_json(spec.to_json(), "file") == spec
    with pytest.raises(SpecError, match="virtualize must be true or false, got 'no'"):
        ScenarioSpec(virtualize="no")  # type: ignore[arg-type]
    assert simwire(argv) == 0
    assert "virtualize=off" in capsys.readouterr().out
