"""``simwire explore``: many seeded full-system runs; failures with repro, the first one shrunk."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sim.cli.options import KERNELS, add_scenario_options, non_negative_int, positive_int, spec_from_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="run N seeded full-system runs and report every failing seed",
        description="Run N seeded full-system runs (each with determinism rechecks, contracts and oracles on), "
                    "report each failing seed with its violations and the command that replays it, and "
                    "shrink the first failure to a minimal interleaving. Exit 0 when every seed is clean, "
                    "1 otherwise, 2 on usage errors.",
    )
    add_scenario_options(parser, kernels=(*KERNELS, "both"))
    parser.set_defaults(policy="random")
    parser.add_argument("--seeds", type=positive_int, default=20, help="how many seeds (default: %(default)s)")
    parser.add_argument("--start", type=non_negative_int, default=0, help="first seed (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="processes to spread seeds over on this machine (default: %(default)s)")
    parser.add_argument("--recheck-every", type=non_negative_int, default=10,
                        help="run every Nth seed twice and compare trace hashes; 0 disables (default: %(default)s)")
    parser.add_argument("--first-failure", action="store_true",
                        help="stop at the first failing seed (seeds run in order with --workers 1)")
    parser.add_argument("--no-shrink", dest="shrink", action="store_false",
                        help="do not shrink the first failure")
    parser.add_argument("--out", type=Path, default=Path(".simwire"),
                        help="where the shrunk schedule and diagram go (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print runs, failures (seed, rules, repro) and seeds per second as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sim.cli.report import console, print_violations
    from sim.harness import explore as exploration_module

    kernels = KERNELS if args.kernel == "both" else (args.kernel,)
    base = spec_from_args(args, kernel=kernels[0])
    specs = exploration_module.plan(base, seeds=args.seeds, start=args.start, kernels=kernels)
    if not args.json:
        console.print(f"exploring {len(specs)} runs: seeds {args.start}..{args.start + args.seeds - 1} "
                      f"kernels={','.join(kernels)}; each as {base.knobs_line()}", markup=False)
    progress = _Progress(len(specs), quiet=args.json)
    result = exploration_module.explore(specs, workers=args.workers, recheck_every=args.recheck_every,
                                        first_failure=args.first_failure,
                                        on_outcome=progress.update)
    progress.close()
    report = result.to_json()
    if result.failures and args.shrink:
        report["shrunk"] = _shrink_first(result.failures[0], args.out, quiet=args.json)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        for outcome in result.failures:
            console.print(f"\nseed {outcome.spec.seed} ({outcome.spec.kernel}) failed: {', '.join(outcome.rules)}",
                          style="bold red", markup=False)
            print_violations(outcome.violations[:5])
            console.print(f"replay: {outcome.spec.repro()}", markup=False)
        rate = report["seeds_per_second"] or 0
        console.print(f"\n{len(result.outcomes)} runs, {len(result.failures)} failing, "
                      f"{result.wall_seconds:.1f} s ({rate:.2f} runs/s)", markup=False)
    return 1 if result.failures else 0


def _shrink_first(outcome: Any, out: Path, *, quiet: bool) -> dict[str, Any] | None:
    from sim.harness.shrinking import shrink_scenario

    shrunk = shrink_scenario(outcome.spec, set(outcome.rules), out)
    if shrunk and not quiet:
        print(f"shrunk seed {outcome.spec.seed}: {shrunk['deviations']} deviation(s) from fifo; "
              f"schedule {shrunk['schedule']}, diagram {shrunk['diagram']}", file=sys.stderr)
    return shrunk


class _Progress:
    """A progress line on stderr (rich), silent under --json."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        self._progress = None
        if quiet or not sys.stderr.isatty():
            return
        from rich.progress import Progress

        self._progress = Progress(transient=True)
        self._task = self._progress.add_task("seeds", total=total)
        self._progress.start()

    def update(self, outcome: Any) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
