"""ScenarioSpec, the single header of a run: every knob validated once, repro() covering every
field, the knobs line printed before the run, independent sub-seeds."""

from __future__ import annotations

import dataclasses

import pytest

from sim.cli import build_parser
from sim.cli import main as simwire
from sim.cli.options import spec_from_args
from sim.harness.spec import MAX_HOURS, ScenarioSpec, SpecError
from sim.kernel import KERNEL_POLICIES


@pytest.mark.parametrize(("args", "message"), [
    (["--hours", "inf"], f"hours must be > 0 and <= {MAX_HOURS:g}, got inf"),
    (["--hours", "1e9"], f"hours must be > 0 and <= {MAX_HOURS:g}"),
    (["--hours", "100", "--tick-seconds", "0.01"], "rows of market data; the bound is 2,000,000"),
    (["--symbols", "A,,B"], "symbols 'A,,B': item 2 is empty"),
    (["--symbols", "BTC_USDT,BTC_USDT"], "symbols: BTC_USDT given more than once"),
    (["--sessions", "1000"], "sessions must be within 1..64, got 1000"),
])
def test_a_bad_knob_is_a_usage_error_naming_it(args: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["run", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def exit_code(argv: list[str]) -> int:
    """The command's exit code, whether argparse (SystemExit) or the command returned it."""
    try:
        return simwire(argv)
    except SystemExit as exit_info:
        return int(exit_info.code or 0)


def test_pct_on_trio_follows_the_kernels_own_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec asks the kernel which policies it runs: pct runs on trio since the kernel
    declared it (issue 14), and a kernel that drops a policy needs no edit here either."""
    assert ScenarioSpec(kernel="trio", policy="pct").policy == "pct"
    monkeypatch.setitem(KERNEL_POLICIES, "trio", ("fifo", "random"))
    with pytest.raises(SpecError, match="policy 'pct' needs the asyncio kernel"):
        ScenarioSpec(kernel="trio", policy="pct")


def test_repro_covers_every_field() -> None:
    spec = ScenarioSpec(mode="paper", seed=7, kernel="asyncio", policy="pct", faults="db-lag", symbols=("ETH_USDT",),
                        hours=0.75, tick_seconds=2.5, sessions=2, sequential=True, pct_depth=5, monitor=False,
                        data_seed=11, target="trading", virtualize=False, perturb=3)
    changed = {f.name for f in dataclasses.fields(spec) if getattr(spec, f.name) != getattr(ScenarioSpec(), f.name)}
    assert changed == {f.name for f in dataclasses.fields(spec)} - {"kernel", "target"}
    argv = spec.repro().split()[1:]  # "simwire run ..." -> the run command's arguments
    assert spec_from_args(build_parser().parse_args(argv)) == spec
    other = dataclasses.replace(spec, target="examples.tally.target:TARGET", mode="backtest")
    assert spec_from_args(build_parser().parse_args(other.repro().split()[1:])) == other


def test_the_knobs_line_is_printed_before_the_run_starts(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import sim.harness.scenario
    import sim.harness.session

    def hang(spec: ScenarioSpec, **_: object) -> None:
        raise KeyboardInterrupt  # as if the run hung and the user pressed ^C

    monkeypatch.setattr(sim.harness.session, "run_scenario", hang)
    monkeypatch.setattr(sim.harness.scenario, "run_scenario", hang)
    assert simwire(["run", "--policy", "pct", "--pct-depth", "4", "--faults", "db-lag", "--no-monitor"]) == 130
    out = capsys.readouterr().out
    assert out.startswith("SEED=0 target=trading mode=backtest kernel=asyncio policy=pct pct_depth=4 "
                          "faults=db-lag (db:")
    assert "hours=2 tick_seconds=1 sessions=1 data_seed=0 monitor=off" in out


def test_sub_seeds_are_independent_and_the_data_seed_defaults_to_the_seed() -> None:
    spec = ScenarioSpec(seed=3)
    assert spec.market_seed == 3 and ScenarioSpec(seed=3, data_seed=9).market_seed == 9
    assert spec.sub_seed("random") != spec.sub_seed("scheduler") != 3
    assert spec.sub_seed("random") == ScenarioSpec(seed=3, hours=1).sub_seed("random")  # only the seed counts


def test_the_data_seed_changes_the_market_not_the_knobs() -> None:
    from sim.harness.session import run_scenario

    base = run_scenario(ScenarioSpec(seed=1, hours=0.5), trace=False)
    same_data = run_scenario(ScenarioSpec(seed=1, hours=0.5, data_seed=1), trace=False)
    other_data = run_scenario(ScenarioSpec(seed=1, hours=0.5, data_seed=2), trace=False)
    assert same_data.trace_hash == base.trace_hash
    assert other_data.tables["strategy_signals"] != base.tables["strategy_signals"]
