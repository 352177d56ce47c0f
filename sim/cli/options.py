"""Command-line options shared by the commands that run scenarios (run, explore)."""

from __future__ import annotations

import argparse
from pathlib import Path
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


def output_file(text: str) -> Path:
    """A file a command will write: checked when the command line is read, so a typo in a
    directory name is a usage error now, not a lost result after a long run."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {text}: directory {parent} {what}")
    return path


def output_dir(text: str) -> Path:
    """A directory a command will create files in (created when missing): it must not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    return path


def existing_dir(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        what = "a file, not a directory" if path.exists() else "no such directory"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return path


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: {'a directory, not a file' if path.is_dir() else 'no such file'}")
    return path


def not_utf8(path: Path) -> str:
    """Why ``path`` is not readable UTF-8 text (naming the file and byte), or empty when it is."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
    except OSError as error:
        return f"{path}: cannot read ({error.strerror})"
    return ""


def utf8_file(text: str) -> str:
    """An existing UTF-8 text file (a schedule file, say): a binary or mis-encoded file is a
    usage error naming the byte, not a UnicodeDecodeError traceback from the reader.  A missing
    file is left to the command's reader, which says what kind of file it wanted."""
    path = Path(text)
    if path.is_file() and (problem := not_utf8(path)):
        raise argparse.ArgumentTypeError(problem)
    return text


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
                        help="fault plan: a preset (none, db-flaky, db-lag, exchange-flaky, crash), or "
                             "site_field=value pairs after an optional preset, e.g. 'db-lag,db_error_rate=0.02' "
                             "(default: %(default)s)")
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
    parser.add_argument("--perturb", type=non_negative_int, default=default.perturb, metavar="N",
                        help="run neighbour N of the seed's schedule (5 %% of its scheduling draws replaced; "
                             "explore --steer prints these in its repro lines; default: 0, none)")
    parser.add_argument("--no-monitor", dest="monitor", action="store_false",
                        help="turn the runtime contract monitor off (for measuring its cost)")
    parser.add_argument("--no-virtualize", dest="virtualize", action="store_false",
                        help="leave the stdlib's clocks, random, uuid, os.urandom and secrets real inside the "
                             "run (to show what virtualization hides; outputs then differ between runs)")
    parser.set_defaults(parser=parser)


def spec_from_args(args: Any, **overrides: Any) -> ScenarioSpec:
    """The spec of the flags; a knob out of range raises ``SpecError`` (``sim.cli``: exit 2)."""
    values = dict(
        target=args.target, mode=args.mode, seed=getattr(args, "seed", 0), kernel=args.kernel,
        policy=args.policy, faults=args.faults, symbols=tuple(args.symbols), hours=args.hours,
        tick_seconds=args.tick_seconds, sessions=args.sessions, sequential=args.sequential,
        pct_depth=args.pct_depth, monitor=args.monitor, data_seed=args.data_seed,
        virtualize=args.virtualize, perturb=args.perturb,
    )
    values.update(overrides)
    spec = ScenarioSpec(**values)
    from sim.harness.targets import load_target

    load_target(spec.target).check(spec, simulated=True)  # an unknown target or mode: refused before any run
    return spec
