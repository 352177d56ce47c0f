"""Command-line options shared by the commands that run scenarios (run, explore)."""

from __future__ import annotations

import argparse
from typing import Any

from sim.harness.spec import DEFAULT_SYMBOLS, KERNELS, MODES, POLICIES, ScenarioSpec, SpecError, parse_symbols


def symbols_list(text: str) -> tuple[str, ...]:
    """Parsed here, validated by ``ScenarioSpec`` (the one place every knob is checked)."""
    try:
        return parse_symbols(text)
    except SpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _number(text: str, convert: type, *, above: float, noun: str, bound: str) -> Any:
    """``convert(text)``, which must be greater than ``above``; usage errors say what was expected."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
    if not value > above:
        raise argparse.ArgumentTypeError(f"expected {noun} {bound}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _number(text, float, above=0.0, noun="a number", bound="> 0")


def non_negative_int(text: str) -> int:
    return _number(text, int, above=-1, noun="a whole number", bound=">= 0")


def positive_int(text: str) -> int:
    return _number(text, int, above=0, noun="a whole number", bound=">= 1")


def fault_plan(text: str) -> str:
    """A preset name or a custom plan (``FaultPlan.from_spec``), checked here so a typo is a usage error."""
    from sim.world.faults import FaultPlan

    try:
        FaultPlan.from_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_scenario_options(parser: argparse.ArgumentParser, *, kernels: tuple[str, ...] = KERNELS,
                         policies: tuple[str, ...] = POLICIES) -> None:
    default = ScenarioSpec()
    parser.add_argument("--target", default=default.target, metavar="MODULE:ATTR",
                        help="the system under test: 'trading' (built in) or a sim.harness.targets.Target "
                             "imported like `python -m` does, e.g. examples.tally.target:TARGET (default: "
                             "%(default)s; see docs/targets.md)")
    parser.add_argument("--mode", choices=MODES, default=default.mode, help="trading mode (default: %(default)s)")
    parser.add_argument("--kernel", choices=kernels, default=default.kernel,
                        help="simulation kernel (default: %(default)s)")
    parser.add_argument("--policy", choices=policies, default=default.policy,
                        help="scheduling policy (default: %(default)s)")
    parser.add_argument("--faults", type=fault_plan, default=default.faults, metavar="PLAN",
                        help="fault plan: a preset (none, db-flaky, db-lag, exchange-flaky), or site_field=value "
                             "pairs after an optional preset, e.g. 'db-lag,db_error_rate=0.02' (default: %(default)s)")
    parser.add_argument("--symbols", type=symbols_list, default=DEFAULT_SYMBOLS, metavar="A,B",
                        help=f"symbols to trade (default: {','.join(DEFAULT_SYMBOLS)})")
    parser.add_argument("--hours", type=positive_float, default=default.hours,
                        help="hours of market data (default: %(default)s)")
    parser.add_argument("--tick-seconds", type=positive_float, default=default.tick_seconds,
                        help="seconds between generated market rows (default: %(default)s)")
    parser.add_argument("--data-seed", type=non_negative_int, default=None,
                        help="seed of the market data (default: the --seed), to vary data and schedule apart")
    parser.add_argument("--sessions", type=positive_int, default=default.sessions,
                        help="concurrent sessions on one bus and database (default: %(default)s)")
    parser.add_argument("--sequential", action="store_true",
                        help="with --sessions N: run the sessions one after the other instead of side by side")
    parser.add_argument("--pct-depth", type=positive_int, default=default.pct_depth,
                        help="PCT change points d (default: %(default)s)")
    parser.add_argument("--no-monitor", dest="monitor", action="store_false",
                        help="turn the runtime contract monitor off (for measuring its cost)")


def spec_from_args(args: Any, **overrides: Any) -> ScenarioSpec:
    """The spec of the flags; a knob out of range raises ``SpecError`` (``sim.cli``: exit 2)."""
    values = dict(
        target=args.target, mode=args.mode, seed=getattr(args, "seed", 0), kernel=args.kernel,
        policy=args.policy, faults=args.faults, symbols=tuple(args.symbols), hours=args.hours,
        tick_seconds=args.tick_seconds, sessions=args.sessions, sequential=args.sequential,
        pct_depth=args.pct_depth, monitor=args.monitor, data_seed=args.data_seed,
    )
    values.update(overrides)
    spec = ScenarioSpec(**values)
    from sim.harness.targets import load_target

    load_target(spec.target).check(spec, simulated=True)  # an unknown target or mode: refused before any run
    return spec
