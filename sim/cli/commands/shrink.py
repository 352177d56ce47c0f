"""``simwire shrink FILE``: the fewest deviations from fifo that still fail."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "shrink",
        help="reduce a failing schedule towards fifo and draw the minimal interleaving",
        description="Replay the failing schedule in FILE, then remove deviations from fifo while the run "
                    "still fails the same way (same error type and violated rules). Writes the minimal "
                    "schedule and prints it as a Mermaid sequence diagram. Exit 0 when shrunk, 1 when the "
                    "schedule does not fail, 2 on usage errors.",
    )
    parser.add_argument("file", metavar="FILE", help="schedule file of a failing run")
    parser.add_argument("--out", metavar="OUT", help="where to write the minimal schedule (default: FILE.min.json)")
    parser.add_argument("--max-runs", type=int, default=500, help="replays allowed (default: %(default)s)")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness.schedule_file import ScheduleFile, load_or_usage_error
    from sim.kernel.shrink import ShrinkError, shrink

    recorded, factory = load_or_usage_error(args.file, args.parser)
    options = recorded.run_options()
    schedule = options.pop("schedule")
    try:
        shrunk = shrink(factory, schedule, max_runs=args.max_runs, **options)
    except ShrinkError as error:
        print(f"simwire shrink {args.file}: {error}")
        return 1
    out = args.out or str(args.file).removesuffix(".json") + ".min.json"
    minimal = ScheduleFile.from_result(recorded.target, shrunk.result, pct_depth=recorded.pct_depth,
                                       pct_horizon=recorded.pct_horizon)
    minimal.save(out)
    print(f"shrunk {shrunk.original_deviations} -> {shrunk.deviations} deviation(s) from fifo "
          f"in {shrunk.runs} replays; minimal schedule: {out}  (simwire replay {out})")
    print(shrunk.result.render())
    print(shrunk.to_mermaid())
    return 0
