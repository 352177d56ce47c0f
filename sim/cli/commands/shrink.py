"""``simwire shrink FILE``: the fewest deviations from fifo that still fail."""

from __future__ import annotations

import argparse
from pathlib import Path
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
    from sim.harness.schedule_file import ScheduleFile, load_or_usage_error, program_or_usage_error
    from sim.kernel.shrink import ShrinkError, shrink

    recorded = load_or_usage_error(args.file, args.parser)
    out = args.out or str(args.file).removesuffix(".json") + ".min.json"
    if not recorded.is_program:
        return _shrink_scenario(args, recorded, Path(out))
    factory = program_or_usage_error(recorded, args.file, args.parser)
    options = recorded.run_options()
    schedule = options.pop("schedule")
    try:
        shrunk = shrink(factory, schedule, max_runs=args.max_runs, **options)
    except ShrinkError as error:
        print(f"simwire shrink {args.file}: {error}")
        return 1
    minimal = ScheduleFile.from_result(recorded.target, shrunk.result, pct_depth=options["pct_depth"],
                                       pct_horizon=options["pct_horizon"])
    minimal.save(out)
    print(f"shrunk {shrunk.original_deviations} -> {shrunk.deviations} deviation(s) from fifo "
          f"in {shrunk.runs} replays; minimal schedule: {out}  (simwire replay {out})")
    print(shrunk.result.render())
    print(shrunk.to_mermaid())
    return 0


def _shrink_scenario(args: argparse.Namespace, recorded: Any, out: Path) -> int:
    """A session target: shrink while any rule the recorded run violated fires again (all of
    the replayed run's rules when the file records none)."""
    from sim.harness.shrinking import replay_scenario, shrink_scenario

    spec = recorded.scenario_spec(args.file)
    print(spec.knobs_line(), flush=True)
    rules = set(recorded.rules)
    if not rules:
        replayed, _ = replay_scenario(recorded, args.file)
        rules = {v.rule for v in replayed.violations}
    shrunk = None if not rules else shrink_scenario(
        spec, rules, out.parent, schedule=recorded.choices, max_runs=args.max_runs,
        stem=out.name.removesuffix(".schedule.json").removesuffix(".json"))
    if shrunk is None:
        print(f"simwire shrink {args.file}: the recorded schedule does not fail (no rule fires)")
        return 1
    print(f"shrunk {shrunk['original_deviations']} -> {shrunk['deviations']} deviation(s) from fifo in "
          f"{shrunk['runs']} replays; minimal schedule: {shrunk['schedule']}  ({shrunk['replay']}); "
          f"diagram: {shrunk['diagram']}")
    print(Path(shrunk["diagram"]).read_text(), end="")
    return 0
