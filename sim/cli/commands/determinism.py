"""``simwire determinism``: same seed, three runs (two in-process, one in a subprocess with
another PYTHONHASHSEED); identical traces and outputs, or the first divergence."""

from __future__ import annotations

import argparse
from typing import Any

from sim.cli.options import add_scenario_options, non_negative_int, spec_from_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "determinism",
        help="check that one seed gives one trace and the same outputs, across runs, processes and hash seeds",
        description="Run a session target (default: the trading system, half an hour) or a sim.run program "
                    "with one seed twice in this process and once in a subprocess with a different "
                    "PYTHONHASHSEED. A session must give the same trace hash AND the same events and table "
                    "rows; the report names the first divergence (step, task, site) or the first differing "
                    "event or row. FILE replays a schedule file instead. Exit 0 when identical, 1 on "
                    "divergence, 2 on usage errors.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="a schedule file (its target, spec and choices)")
    add_scenario_options(parser)
    parser.set_defaults(policy="random", hours=0.5)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="the seed (default: %(default)s)")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness.determinism import check_determinism
    from sim.harness.outputs import check_session_determinism
    from sim.harness.schedule_file import ScheduleFile, load_or_usage_error, program_or_usage_error
    from sim.harness.targets import is_scenario_target

    if args.file:
        recorded = load_or_usage_error(args.file, args.parser)
    elif is_scenario_target(args.target):
        recorded = ScheduleFile.for_scenario(spec_from_args(args), [], "")
    else:  # a sim.run program: a coroutine function or a factory of them
        recorded = ScheduleFile(args.target, {"seed": args.seed, "kernel": args.kernel, "policy": args.policy,
                                              "pct_depth": args.pct_depth})
    if recorded.is_program:
        program_or_usage_error(recorded, args.file or "--target", args.parser)
        options = recorded.run_options()
        if not recorded.choices:
            options.pop("schedule")
        report = check_determinism(recorded.target, **options)
        print(f"simwire determinism --target {recorded.target} --seed {options['seed']} "
              f"--policy {options['policy']} --kernel {options['kernel']}")
    else:
        spec = recorded.scenario_spec(args.file or "--target")
        print(spec.knobs_line(), flush=True)
        report = check_session_determinism(spec, choices=recorded.choices or None)
    print(report.render())
    return 0 if report.identical else 1
