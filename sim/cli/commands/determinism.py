"""``simwire determinism``: same seed, three runs (two in-process, one in a subprocess with
another PYTHONHASHSEED), identical traces or the first divergence."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "determinism",
        help="check that one seed gives one trace, across runs, processes and hash seeds",
        description="Run TARGET with one seed twice in this process and once in a subprocess with a "
                    "different PYTHONHASHSEED; report identical, or the first divergence (step, task, "
                    "site). Exit 0 when identical, 1 on divergence, 2 on usage errors.",
    )
    parser.add_argument("--target", default="sim.harness.scenario:full_system_backtest", metavar="MODULE:FUNCTION",
                        help="a coroutine function, or a function returning a fresh one per run "
                             "(default: %(default)s, the whole trading system)")
    parser.add_argument("--seed", type=int, default=0, help="the seed (default: %(default)s)")
    parser.add_argument("--policy", choices=("fifo", "random", "pct"), default="random",
                        help="scheduling policy (default: %(default)s)")
    parser.add_argument("--kernel", choices=("asyncio", "trio"), default="asyncio",
                        help="kernel (default: %(default)s)")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness.determinism import check_determinism
    from sim.harness.targets import TargetError, resolve

    try:
        resolve(args.target)
    except TargetError as error:
        args.parser.error(str(error))
    report = check_determinism(args.target, args.seed, args.policy, args.kernel)
    print(f"simwire determinism --target {args.target} --seed {args.seed} --policy {args.policy} "
          f"--kernel {args.kernel}")
    print(report.render())
    return 0 if report.identical else 1
