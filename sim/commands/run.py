"""``simwire run``: one full-system session on embedded generated data, judged."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sim.cli_options import add_scenario_options, non_negative_int, spec_from_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run one full-system session under a deterministic kernel and check it",
        description="Run one trading session (backtest, paper or live) on generated market data under a "
                    "deterministic kernel, with the runtime contract monitor and end-of-run oracles on. "
                    "Exit 0 when clean, 1 on any violation, 2 on usage errors.",
    )
    add_scenario_options(parser)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="the seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sim.scenario import run_scenario

    spec = spec_from_args(args)
    if not args.json:
        print(f"simwire run: {spec.repro()}", file=sys.stderr)
    result = run_scenario(spec)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, sort_keys=True, default=str))
    else:
        from sim.report import print_scenario

        print_scenario(result)
    return 0 if result.clean else 1

